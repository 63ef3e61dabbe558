package app

import (
	"context"
	"fmt"
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
	// Checks are the checks in the order a kiosk makes them, each passed,
	// failed or not checked, with one line saying what was found and, for
	// a failure, what to do. Front ends show these, not their own guesses.
	Checks []Check
}

// Check is one step of an inspection.
type Check struct {
	// Name is "Signature", "Sender trusted", "For this station",
	// "Policy" or "Volumes".
	Name   string
	State  CheckState
	Detail string
}

// CheckState is whether a check passed, failed or was not made.
type CheckState int

// The states of a check.
const (
	NotChecked CheckState = iota
	Passed
	Failed
)

// Admissible reports whether every check a kiosk needs before decrypting
// passed.
func (in *Inspection) Admissible() bool {
	if in == nil || len(in.Checks) == 0 {
		return false
	}
	for _, c := range in.Checks {
		if c.State != Passed {
			return false
		}
	}
	return true
}

func (in *Inspection) check(name string, st CheckState, detail string) {
	in.Checks = append(in.Checks, Check{name, st, detail})
}

// Inspect checks a bundle's envelope, signature and every volume without any
// secret key. With a station (st may be nil), it also says whether the sender
// is trusted, whether the bundle is sealed for this station and whether the
// station's policy admits it (limits, age, replay). It returns the
// inspection and, if the envelope, its signature or a volume is wrong, an
// error wrapping ErrRejected; Checks says which check failed and what to do.
func Inspect(ctx context.Context, dir string, st *Station) (*Inspection, error) {
	b, err := bundle.OpenPart(dir)
	if err == nil && !b.Complete() && b.Envelope.Span == nil {
		b, err = bundle.Open(dir) // names the missing volume
	}
	if err != nil {
		return nil, err
	}
	in := &Inspection{Bundle: b}
	env := b.Envelope
	later := func(names ...string) {
		for _, n := range names {
			in.check(n, NotChecked, "not checked: an earlier check failed")
		}
	}
	if err := b.VerifySelfSignature(); err != nil {
		in.check("Signature", Failed, "does not verify: the envelope was altered or forged; do not release, reject it")
		later("Sender trusted", "For this station", "Policy", "Volumes")
		return in, err
	}
	in.SignatureOK = true
	in.check("Signature", Passed, "valid, by the key the envelope names")
	if st == nil {
		for _, n := range []string{"Sender trusted", "For this station", "Policy"} {
			in.check(n, NotChecked, "not checked: no station here")
		}
	} else {
		in.Trust = "not trusted"
		c, ok, err := st.Trusted(env.Sender.Name)
		if err != nil {
			return in, err
		}
		switch {
		case !ok:
			in.check("Sender trusted", Failed, fmt.Sprintf("%s is not trusted here: if it should be, import its card on the Station screen (or sluice trust add)", env.Sender.Name))
		case b.VerifySignature(c.SigningKey) != nil:
			in.Trust = "FORGED: the trusted key for this name differs"
			in.check("Sender trusted", Failed, fmt.Sprintf("FORGED: signed by another key than the %s this station trusts; reject it", env.Sender.Name))
			later("For this station", "Policy", "Volumes")
			return in, b.VerifySignature(c.SigningKey)
		default:
			in.Trust = "trusted"
			in.check("Sender trusted", Passed, env.Sender.Name+", whose card this station holds")
		}
		in.ForThisStation = st.isRecipient(env)
		if in.ForThisStation {
			in.check("For this station", Passed, "sealed for "+st.Name)
		} else {
			in.check("For this station", Failed, fmt.Sprintf("sealed for %s, not for this station (%s); it cannot be decrypted here", env.RecipientNames(), st.Name))
		}
		if err := st.checkPolicy(env, ReceiveRequest{}); err != nil {
			in.check("Policy", Failed, strings.TrimPrefix(err.Error(), ErrRejected.Error()+": "))
		} else {
			in.check("Policy", Passed, "within this station's limits and age, not received before")
		}
	}
	if err := b.CheckVolumes(ctx); err != nil {
		in.check("Volumes", Failed, strings.TrimPrefix(err.Error(), ErrRejected.Error()+": "))
		return in, err
	}
	in.VolumesOK = true
	if miss := len(b.Missing()); miss > 0 {
		in.check("Volumes", Passed, fmt.Sprintf("the %d on this drive intact; %d on the bundle's other drives", len(env.Payload.Volumes)-miss, miss))
	} else {
		in.check("Volumes", Passed, fmt.Sprintf("all %d intact", len(env.Payload.Volumes)))
	}
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
