package custody

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// CSVHeader names the columns ExportCSV writes.
var CSVHeader = []string{"seq", "prev", "time", "event", "station", "officer", "bundle", "peer", "manifest_sha256", "files", "bytes",
	"media_vendor", "media_model", "media_serial", "media_filesystem", "media_fs_id", "path", "outcome", "reason", "seal_record_index"}

// ExportCSV writes the records of the log at path that match keep (nil:
// all) as CSV, one row per record, for spreadsheets.
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
		return cw.Write([]string{strconv.FormatInt(r.Seq, 10), r.Prev, r.Time.UTC().Format(time.RFC3339Nano), r.Event, r.Station, r.Officer,
			r.Bundle, r.Peer, r.ManifestSHA256, strconv.FormatInt(r.Files, 10), strconv.FormatInt(r.Bytes, 10),
			m.Vendor, m.Model, m.Serial, m.Filesystem, m.FSID, r.Path, r.Outcome, r.Reason, seal})
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return err
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
