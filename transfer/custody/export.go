package custody

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader names the columns ExportCSV writes.
var CSVHeader = []string{"seq", "prev", "time", "event", "station", "officer", "bundle", "peer", "manifest_sha256", "files", "bytes",
	"media_vendor", "media_model", "media_serial", "media_filesystem", "media_fs_id", "path", "outcome", "reason", "seal_record_index"}

// ExportCSV writes the records of the log at path that match keep (nil:
// all) as CSV, one row per record, for spreadsheets. A text cell that a
// spreadsheet would run as a formula (it starts with = + - @, a tab or a
// carriage return: a drive's model string comes from its firmware) is
// written with a ' before it, as OWASP's "CSV Injection" advises; the
// JSON export keeps every value exact.
func ExportCSV(w io.Writer, path string, keep func(Record) bool) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	err := Each(path, func(_ []byte, r Record) error {
		if keep != nil && !keep(r) {
			return nil
		}
		m := r.Media
		if m == nil {
			m = &Media{}
		}
		seal := ""
		if r.Seal != nil {
			seal = strconv.FormatInt(r.Seal.Index, 10)
		}
		c := csvText
		return cw.Write([]string{strconv.FormatInt(r.Seq, 10), r.Prev, r.Time.UTC().Format(time.RFC3339Nano), c(r.Event), c(r.Station), c(r.Officer),
			c(r.Bundle), c(r.Peer), c(r.ManifestSHA256), strconv.FormatInt(r.Files, 10), strconv.FormatInt(r.Bytes, 10),
			c(m.Vendor), c(m.Model), c(m.Serial), c(m.Filesystem), c(m.FSID), c(r.Path), c(r.Outcome), c(r.Reason), seal})
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return err
}

// csvText is a text cell as ExportCSV writes it: with a ' before a
// leading character that makes a spreadsheet read the cell as a formula.
func csvText(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// ExportJSON writes the matching records as one JSON array, each record
// exactly as logged, for a SIEM.
func ExportJSON(w io.Writer, path string, keep func(Record) bool) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	sep := "\n"
	err := Each(path, func(line []byte, r Record) error {
		if keep != nil && !keep(r) {
			return nil
		}
		_, err := fmt.Fprintf(w, "%s%s", sep, line)
		sep = ",\n"
		return err
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n]\n")
	return err
}
