package cli

import (
	"golang.org/x/crypto/ssh"

	"sluice/transfer/bundle"
)

func recipients(rs []bundle.Recipient) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

func fingerprint(authorizedKey string) string {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorizedKey))
	if err != nil {
		return "unparsable key"
	}
	return ssh.FingerprintSHA256(k)
}
