package app

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sluice/crypto"
	"sluice/internal/durable"
	"sluice/internal/regfile"
	"sluice/internal/textfile"
	"sluice/transfer/custody"
)

// TrustAdd trusts the station on a card, as a recipient and as a signer. A
// card that is not UTF-8 text is an error wrapping textfile.ErrNotText (an
// environment error, not a refusal); one that does not parse is refused, and so is one that reuses a trusted
// name with different keys: replacing a station's keys takes an explicit
// TrustRemove first.
func (s *Station) TrustAdd(cardText []byte) (crypto.Card, error) { return s.trustAdd(cardText, "") }

// TrustAddRelease trusts the release key on a card (crypto.RoleRelease)
// to sign updates of Sluice and of the scanner's signatures, and nothing
// else: its signature on data is refused, and a station's on an update.
// A card without the release role is refused here, and a release card by
// TrustAdd, so one key has one role.
func (s *Station) TrustAddRelease(cardText []byte) (crypto.Card, error) {
	return s.trustAdd(cardText, crypto.RoleRelease)
}

func (s *Station) trustAdd(cardText []byte, role string) (crypto.Card, error) {
	c, err := crypto.ParseCard(cardText)
	if errors.Is(err, textfile.ErrNotText) {
		return c, err // not read as text: nothing was judged, so nothing is refused
	}
	if err != nil {
		return c, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	switch {
	case c.Role == crypto.RoleRelease && role != crypto.RoleRelease:
		return c, fmt.Errorf("%w: %s's card is a release key's, which signs updates only; trust it as such with sluice trust add --role release CARD", ErrRejected, c.Name)
	case c.Role != crypto.RoleRelease && role == crypto.RoleRelease:
		return c, fmt.Errorf("%w: %s's card is a station's, not a release key's (it has no \"role: release\" line); trust it with sluice trust add CARD", ErrRejected, c.Name)
	case role == crypto.RoleRelease && s.Role == crypto.RoleRelease:
		return c, fmt.Errorf("%w: this is a release key's home; it trusts the stations it seals updates for, not other release keys", ErrRejected)
	}
	if c.SameKeys(s.Card()) {
		return c, fmt.Errorf("%w: that card is this station's own", ErrRejected)
	}
	if c.Name == s.Card().Name {
		// This station's records and checks find a name's keys by the
		// name: a second station of the same name could not be told
		// from this one, in the custody log or in a seal's proof.
		return c, fmt.Errorf("%w: that card's station is named %s, as this station is; two stations of one name cannot be told apart: make the other again under another name (sluice init --name)", ErrRejected, c.Name)
	}
	existing, err := s.TrustList()
	if err != nil {
		return c, err
	}
	for _, e := range existing {
		switch {
		case e.Name == c.Name && e.SameKeys(c):
			return c, nil // already trusted: adding twice is harmless
		case e.Name == c.Name:
			return c, fmt.Errorf("%w: a station named %s is already trusted with different keys (%s); if its keys really changed, run sluice trust remove %s first",
				ErrRejected, c.Name, e.SigningFingerprint(), c.Name)
		case e.SameKeys(c):
			return c, fmt.Errorf("%w: these keys are already trusted as %s", ErrRejected, e.Name)
		case bytes.Equal(e.SigningKey.Marshal(), c.SigningKey.Marshal()):
			// One key, one role: a station's signing key under another
			// name (and another age key) would sign updates, or data.
			return c, fmt.Errorf("%w: this card's signing key is already trusted as %s (%s); one key has one name and one role", ErrRejected, e.Name, crypto.RoleName(e.Role))
		}
	}
	if err := os.MkdirAll(filepath.Join(s.Home, trustDir), 0o700); err != nil {
		return c, fmt.Errorf("trust store: %w", err)
	}
	if err := durable.ReplaceFile(s.trustPath(c.Name), c.Marshal(), 0o644); err != nil {
		return c, fmt.Errorf("trust store: %w", err)
	}
	reason := "signing key " + c.SigningFingerprint() + ", recipient " + c.RecipientFingerprint()
	if c.Role == crypto.RoleRelease {
		reason = "release key (updates only): " + reason
	}
	err = s.record(custody.Record{Event: custody.EventTrustAdded, Peer: c.Name, Outcome: "ok", Reason: reason})
	return c, err
}

func (s *Station) trustPath(name string) string {
	return filepath.Join(s.Home, trustDir, name+".card")
}

// TrustList returns every trusted station, by name.
func (s *Station) TrustList() ([]crypto.Card, error) {
	ents, err := os.ReadDir(filepath.Join(s.Home, trustDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	var out []crypto.Card
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".card") {
			continue
		}
		b, err := regfile.ReadFile(filepath.Join(s.Home, trustDir, e.Name()), 64<<10)
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		c, err := crypto.ParseCard(b)
		if err != nil {
			return nil, fmt.Errorf("trust store: %s is damaged: %v; remove it and add the card again", e.Name(), err)
		}
		if c.Name+".card" != e.Name() {
			return nil, fmt.Errorf("trust store: %s holds the card of %s; remove it and add the card again", e.Name(), c.Name)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Trusted returns the trusted card named name.
func (s *Station) Trusted(name string) (crypto.Card, bool, error) {
	if crypto.ValidName(name) != nil {
		return crypto.Card{}, false, nil
	}
	b, err := regfile.ReadFile(s.trustPath(name), 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return crypto.Card{}, false, nil
	}
	if err != nil {
		return crypto.Card{}, false, fmt.Errorf("trust store: %w", err)
	}
	c, err := crypto.ParseCard(b)
	if err != nil || c.Name != name {
		return crypto.Card{}, false, fmt.Errorf("trust store: %s.card is damaged; remove it and add the card again", name)
	}
	return c, true, nil
}

// TrustRemove stops trusting the station named name.
func (s *Station) TrustRemove(name string) error {
	_, ok, err := s.Trusted(name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no trusted station is named %q; see sluice trust list", name)
	}
	if err := os.Remove(s.trustPath(name)); err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	if err := durable.SyncDir(filepath.Join(s.Home, trustDir)); err != nil {
		return err
	}
	return s.record(custody.Record{Event: custody.EventTrustRemoved, Peer: name, Outcome: "ok"})
}
