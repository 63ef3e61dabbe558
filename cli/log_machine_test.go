package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"sluice/app"
	"sluice/transfer/custody"
)

// Exported records and log show --json reach a pipe or a file exactly as
// logged, even with bytes a terminal would obey (a drive's model string
// is read raw from the kernel): the JSON parses, and the lines are the
// log's, byte for byte. (On a terminal they are escaped, as all output.)
func TestLogJSONToAPipeIsExact(t *testing.T) {
	dir := t.TempDir()
	sender, _, _ := sealedPair(t, dir)
	st, err := app.Load(sender)
	if err != nil {
		t.Fatal(err)
	}
	l, err := custody.Open(st.CustodyPath, st.Keys.NoteSigner(st.Origin()), st.Origin(), st.Name, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(custody.Record{Event: custody.EventWritten, Station: st.Name, Outcome: "ok",
		Media: &custody.Media{Vendor: "Generic\x7f", Model: "Flash\u0085Disk\u00a0\u202e"}}, true); err != nil {
		t.Fatal(err)
	}
	l.Close()
	r := mustRun(t, "", "--home", sender, "log", "export", "--format", "json")
	var recs []custody.Record
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
		t.Fatalf("log export --format json is not JSON: %v", err)
	}
	if m := recs[len(recs)-1].Media; m == nil || m.Model != "Flash\u0085Disk\u00a0\u202e" {
		t.Errorf("the model string came out as %+v", m)
	}
	raw, _ := os.ReadFile(st.CustodyPath)
	if show := mustRun(t, "", "--home", sender, "log", "show", "--json").stdout; show != string(raw) {
		t.Errorf("log show --json is not the log's lines as logged")
	}
	// The table for people is still escaped.
	if table := mustRun(t, "", "--home", sender, "log", "show").stdout; strings.Contains(table, "\u202e") {
		t.Errorf("log show printed a bidirectional override raw")
	}
}

// --since keeps every record from the first one at or after its time on,
// in the log's order: one logged while the station's clock was set back
// is not dropped from "everything since T".
func TestLogSinceKeepsLaterRecords(t *testing.T) {
	dir := t.TempDir()
	sender, _, _ := sealedPair(t, dir)
	st, err := app.Load(sender)
	if err != nil {
		t.Fatal(err)
	}
	l, err := custody.Open(st.CustodyPath, st.Keys.NoteSigner(st.Origin()), st.Origin(), st.Name, "x")
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour) // after everything sealedPair logged
	l.Append(custody.Record{Event: custody.EventStaged, Station: st.Name, Outcome: "ok", Reason: "A", Time: later}, false)
	l.Append(custody.Record{Event: custody.EventRefused, Station: st.Name, Outcome: "refused", Reason: "B: clock set back", Time: later.Add(-48 * time.Hour)}, false)
	l.Append(custody.Record{Event: custody.EventStaged, Station: st.Name, Outcome: "ok", Reason: "C", Time: later.Add(time.Second)}, true)
	l.Close()
	r := mustRun(t, "", "--home", sender, "log", "export", "--format", "json", "--since", later.Add(-time.Minute).UTC().Format(time.RFC3339))
	for _, want := range []string{`"reason":"A"`, "clock set back", `"reason":"C"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--since left out %s", want)
		}
	}
	if strings.Contains(r.stdout, `"event":"station-created"`) {
		t.Errorf("--since kept records from before its time")
	}
}

// CSV, which escapes nothing, is escaped on its way to a pipe as to a
// terminal: a drive's model string cannot send a terminal sequences.
func TestLogCSVToAPipeIsEscaped(t *testing.T) {
	dir := t.TempDir()
	sender, _, _ := sealedPair(t, dir)
	st, err := app.Load(sender)
	if err != nil {
		t.Fatal(err)
	}
	l, err := custody.Open(st.CustodyPath, st.Keys.NoteSigner(st.Origin()), st.Origin(), st.Name, "x")
	if err != nil {
		t.Fatal(err)
	}
	l.Append(custody.Record{Event: custody.EventWritten, Station: st.Name, Outcome: "ok", Media: &custody.Media{Model: "\x1b]0;owned\x07\x1b[2J"}}, true)
	l.Close()
	if out := mustRun(t, "", "--home", sender, "log", "export", "--format", "csv").stdout; strings.ContainsRune(out, 0x1b) {
		t.Errorf("log export --format csv wrote an escape character")
	}
}
