package bundle

import (
	"strings"
	"testing"
)

// Update.Check: a known kind, a version, and for signatures only the
// three databases, each with a positive version.
func TestUpdateCheck(t *testing.T) {
	for _, c := range []struct {
		u    Update
		want string
	}{
		{Update{Kind: UpdateSluice, Version: "1.4.0"}, ""},
		{Update{Kind: UpdateClamAVDB, Version: "27101", Databases: map[string]int{"daily": 27101, "main": 62, "bytecode": 335}}, ""},
		{Update{Kind: UpdateClamAVDB, Version: "27101"}, ""},
		{Update{Kind: "firmware", Version: "1"}, "unknown kind"},
		{Update{Kind: UpdateSluice, Version: "../1"}, "is not a version"},
		{Update{Kind: UpdateSluice, Version: "1.4.0", Databases: map[string]int{"daily": 1}}, "a sluice update that names signature databases"},
		{Update{Kind: UpdateClamAVDB, Version: "1", Databases: map[string]int{"safebrowsing": 1}}, `database "safebrowsing"`},
		{Update{Kind: UpdateClamAVDB, Version: "1", Databases: map[string]int{"daily": 0}}, "a positive version"},
		{Update{Kind: UpdateClamAVDB, Version: "1", Databases: map[string]int{"daily": 1, "main": 1, "bytecode": 1, "x": 1}}, "names 4 signature databases"},
	} {
		err := c.u.Check()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.u, err, c.want)
		}
	}
}
