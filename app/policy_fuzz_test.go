package app

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzParsePolicy: any policy.toml either loads or fails with one line,
// never a panic; and one that loads, shown (Policy.Text, what `sluice
// policy show` prints and a sender imports), loads back as the same
// policy. A size shown rounded ("1.5 GB" as "1.4 GiB") was 3 MB larger
// wherever the shown text was installed or imported.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(defaultPolicyText))
	f.Add([]byte("max_bytes = \"1.5 GB\"\nmax_file_size = \"1000001\"\n[archives]\nmax_expanded = \"3 MB\"\nmax_ratio = 12.5\n"))
	f.Add([]byte("max_age = \"36h30m\"\n[[destination]]\nfolder = \"/srv/in\"\nsenders = [\"a\", \"b\"]\n[scan]\nmode = \"required\"\nclamd = \"/run/clamav/clamd.ctl\"\npass_not_scanned = [\"encrypted\"]\n[[scanner]]\nname = \"x\"\ncommand = [\"/bin/true\", \"{}\"]\nclean = [0]\ninfected = [1, 2]\ntimeout = \"90s\"\n"))
	f.Add([]byte("[transform]\ndocuments = \"kiosk\"\nocr = \"eng+deu\"\nseal_originals = true\ndpi = 200\n[review]\nrequire_approvals = 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePolicy(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("the error is not one line: %q", err)
			}
			return
		}
		shown := p.Text()
		again, err := parsePolicy([]byte(shown))
		if err != nil {
			t.Fatalf("the policy shown does not load: %v\n%s", err, shown)
		}
		if semantics(p) != semantics(again) {
			t.Fatalf("the policy shown loads as another policy:\n%+v\n%+v\n%s", p, again, shown)
		}
	})
}

// semantics prints what a policy does: %+v, not reflect.DeepEqual, since a
// list left out and an empty one are the same policy, and without a
// scanner's timeout as written ("90s" and "1m30s" are one duration).
func semantics(p Policy) string {
	hooks := append([]ScanHook(nil), p.Scan.Hooks...)
	for i := range hooks {
		hooks[i].RawTime = ""
	}
	p.Scan.Hooks = hooks
	return fmt.Sprintf("%+v", p)
}
