package app

import (
	"context"
	"strings"

	"sluice/internal/safetext"
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

// Note returns the envelope's note as a front end may show it: on one line,
// with control, bidirectional and invisible characters escaped, and only
// when its signature verified and, with a station, its sender is trusted.
// Otherwise it says why the note is withheld: a forged envelope's note
// ("approved by security") must not read as if it were true. "" when there
// is no note.
func (in *Inspection) Note() string {
	if in == nil || in.Bundle.Envelope.Note == "" {
		return ""
	}
	switch {
	case !in.SignatureOK:
		return "(not shown: the envelope's signature does not verify, so its note may be forged)"
	case in.Trust != "" && in.Trust != "trusted":
		return "(not shown: the sender is not trusted here, so its note may be forged)"
	}
	note := safetext.Line(strings.Join(strings.Fields(in.Bundle.Envelope.Note), " "))
	if in.Trust == "" {
		return note + "  (signature not checked against a trust store: no station here)"
	}
	return note
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
