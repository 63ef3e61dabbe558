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
	sender := senderWith(t, custody.Record{Event: custody.EventWritten, Outcome: "ok",
		Media: &custody.Media{Vendor: "Generic\x7f", Model: "Flash\u0085Disk\u00a0\u202e"}})
	st, err := app.Load(sender)
	if err != nil {
		t.Fatal(err)
	}
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
	later := time.Now().Add(time.Hour) // after everything sealedPair logged
	sender := senderWith(t,
		custody.Record{Event: custody.EventStaged, Outcome: "ok", Reason: "A", Time: later},
		custody.Record{Event: custody.EventRefused, Outcome: "refused", Reason: "B: clock set back", Time: later.Add(-48 * time.Hour)},
		custody.Record{Event: custody.EventStaged, Outcome: "ok", Reason: "C", Time: later.Add(time.Second)})
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
	sender := senderWith(t, custody.Record{Event: custody.EventWritten, Outcome: "ok", Media: &custody.Media{Model: "\x1b]0;owned\x07\x1b[2J"}})
	if out := mustRun(t, "", "--home", sender, "log", "export", "--format", "csv").stdout; strings.ContainsRune(out, 0x1b) {
		t.Errorf("log export --format csv wrote an escape character")
	}
}

// senderWith is a sender's station (sealedPair's) whose log has recs
// appended, the last checkpointed.
func senderWith(t *testing.T, recs ...custody.Record) string {
	t.Helper()
	sender, _, _ := sealedPair(t, t.TempDir())
	st, err := app.Load(sender)
	if err != nil {
		t.Fatal(err)
	}
	l, err := custody.Open(st.CustodyPath, st.Keys.NoteSigner(st.Origin()), st.Origin(), st.Name, "x")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i, r := range recs {
		r.Station = st.Name
		if _, err := l.Append(r, i == len(recs)-1); err != nil {
			t.Fatal(err)
		}
	}
	return sender
}
