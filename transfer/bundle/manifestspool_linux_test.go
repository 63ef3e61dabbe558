package bundle

import "testing"

// A temporary folder that runs out of room while the manifest is being
// spooled leaves it in memory, what was spooled read back: the seal goes
// on with the same bytes.
func TestManifestSpoolFullTempFolder(t *testing.T) {
	dir := smallTmpfs(t, "5m")
	t.Setenv("TMPDIR", dir)
	m, plain := spoolEntries(t, 40000)
	if m.file != nil || !m.noFile || len(plain) < 2*manifestInMemory {
		t.Fatalf("a %d-byte manifest in a 5 MiB temporary folder: file %v, in memory %v", len(plain), m.file != nil, m.noFile)
	}
	checkSpool(t, m, plain)
}
