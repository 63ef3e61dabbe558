package app

import (
	"context"

	"sluice/transfer/bundle"
)

// Inspection is what can be learned about a bundle without any secret key.
type Inspection struct {
	Bundle *bundle.Bundle
	// SignatureOK: the envelope is signed by the key it names.
	SignatureOK bool
	// Trust says what this station knows of the sender: "trusted",
	// "not trusted", or "" when no station was given.
	Trust string
	// ForThisStation: this station is among the recipients.
	ForThisStation bool
	// VolumesOK: every volume, and the payload, hash as the envelope says.
	// On one drive of a bundle that spans several, it covers the volumes
	// that drive holds (Bundle.Missing lists the others).
	VolumesOK bool
}

// Inspect checks a bundle's envelope, signature and every volume without any
// secret key. With a station (st may be nil), it also says whether the sender
// is trusted and whether the bundle is sealed for this station. It returns
// the inspection and, if anything is wrong, an error wrapping ErrRejected.
func Inspect(ctx context.Context, dir string, st *Station) (*Inspection, error) {
	b, err := bundle.OpenPart(dir)
	if err == nil && !b.Complete() && b.Envelope.Span == nil {
		b, err = bundle.Open(dir) // names the missing volume
	}
	if err != nil {
		return nil, err
	}
	in := &Inspection{Bundle: b}
	if err := b.VerifySelfSignature(); err != nil {
		return in, err
	}
	in.SignatureOK = true
	if st != nil {
		in.Trust = "not trusted"
		c, ok, err := st.Trusted(b.Envelope.Sender.Name)
		if err != nil {
			return in, err
		}
		if ok {
			if err := b.VerifySignature(c.SigningKey); err != nil {
				in.Trust = "FORGED: the trusted key for this name differs"
				return in, err
			}
			in.Trust = "trusted"
		}
		in.ForThisStation = st.isRecipient(b.Envelope)
	}
	if err := b.CheckVolumes(ctx); err != nil {
		return in, err
	}
	in.VolumesOK = true
	return in, nil
}

func (s *Station) isRecipient(e *bundle.Envelope) bool {
	fp := s.Card().RecipientFingerprint()
	for _, r := range e.Recipients {
		if r.Fingerprint == fp {
			return true
		}
	}
	return false
}
