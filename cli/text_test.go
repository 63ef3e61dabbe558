package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// asUTF16 encodes s as UTF-16 with a byte-order mark, as Notepad's
// "Unicode" and PowerShell's Out-File do.
func asUTF16(s string, bigEndian bool) []byte {
	out := []byte{0xFF, 0xFE}
	if bigEndian {
		out = []byte{0xFE, 0xFF}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

// carried lists the forms a text file takes after a trip through another
// machine, and the exit status each must get: 0 when only the line ends or a
// UTF-8 byte-order mark changed, 2 (environment) with a message naming the
// file when it is not UTF-8 text.
func carried(text string) []struct {
	name string
	data []byte
	code int
	says string
} {
	crlf := strings.ReplaceAll(text, "\n", "\r\n")
	return []struct {
		name string
		data []byte
		code int
		says string
	}{
		{"LF", []byte(text), ExitOK, ""},
		{"CRLF", []byte(crlf), ExitOK, ""},
		{"UTF-8 BOM and CRLF", append([]byte("\xEF\xBB\xBF"), crlf...), ExitOK, ""},
		{"blank lines around it", []byte("\n" + text + "\n\n"), ExitOK, ""},
		{"a space after the last line", []byte(text + " \n"), ExitOK, ""},
		{"UTF-16LE", asUTF16(crlf, false), ExitUsage, "is UTF-16 text; save it as UTF-8 and try again"},
		{"UTF-16BE", asUTF16(crlf, true), ExitUsage, "is UTF-16 text; save it as UTF-8 and try again"},
		{"binary junk", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00" + text), ExitUsage, "is not text (it holds NUL bytes)"},
		{"Windows-1252", []byte(strings.Replace(crlf, "\r\n", " \xab\xbb\r\n", 1)), ExitUsage, "is not UTF-8 text"},
	}
}

func TestCarriedCheckpointsAndCards(t *testing.T) {
	dir := t.TempDir()
	sender, kiosk, _ := sealedPair(t, dir)
	checkpoint := mustRun(t, "", "--home", sender, "log", "checkpoint").stdout
	card := mustRun(t, "", "--home", sender, "id").stdout
	senderLog := filepath.Join(sender, "custody.log")
	auditor := filepath.Join(dir, "auditor")
	mustRun(t, "", "--home", auditor, "init", "--name", "auditor-1")
	goodCard := filepath.Join(dir, "good.card")
	os.WriteFile(goodCard, []byte(card), 0o644)

	for _, c := range carried(checkpoint) {
		t.Run("log verify --checkpoint, "+c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "checkpoint.txt")
			os.WriteFile(f, c.data, 0o644)
			r := run(t, "", "--home", kiosk, "log", "verify", senderLog, "--checkpoint", f)
			if c.code == ExitOK {
				if r.code != ExitOK || !strings.Contains(r.stdout, "only grew since your checkpoint") {
					t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
				}
				return
			}
			oneLineError(t, r, c.code, "checkpoint.txt "+c.says)
		})
	}
	for _, c := range carried(card) {
		t.Run("trust add FILE, "+c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "sender.card")
			os.WriteFile(f, c.data, 0o644)
			r := run(t, "", "--home", auditor, "trust", "add", f)
			if c.code == ExitOK {
				if r.code != ExitOK || !strings.HasPrefix(r.stdout, "Trusted sender-1") {
					t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
				}
				return
			}
			oneLineError(t, r, c.code, "sender.card "+c.says)
		})
		t.Run("trust add -, "+c.name, func(t *testing.T) {
			r := run(t, string(c.data), "--home", auditor, "trust", "add", "-")
			if c.code == ExitOK {
				if r.code != ExitOK {
					t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
				}
				return
			}
			oneLineError(t, r, c.code, "card "+c.says)
		})
		t.Run("log verify --card, "+c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "sender.card")
			os.WriteFile(f, c.data, 0o644)
			r := run(t, "", "--home", filepath.Join(dir, "nowhere"), "log", "verify", senderLog, "--card", f)
			if c.code == ExitOK {
				if r.code != ExitOK || !strings.HasPrefix(r.stdout, "OK: custody log of sender-1 verified") {
					t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
				}
				return
			}
			oneLineError(t, r, c.code, "sender.card "+c.says)
		})
	}

	// A forged checkpoint is still tampering, whatever its line ends.
	forged := strings.Replace(checkpoint, "\n"+strings.Split(checkpoint, "\n")[1]+"\n", "\n1000\n", 1)
	if forged == checkpoint {
		t.Fatal("test did not forge the checkpoint")
	}
	for name, data := range map[string]string{"LF": forged, "CRLF": strings.ReplaceAll(forged, "\n", "\r\n")} {
		f := filepath.Join(dir, "forged-"+name+".txt")
		os.WriteFile(f, []byte(data), 0o644)
		oneLineError(t, run(t, "", "--home", kiosk, "log", "verify", senderLog, "--checkpoint", f), ExitRejected, "your saved checkpoint: bad signature")
	}
	// A card that is text but not a card is still refused.
	notACard := filepath.Join(dir, "notes.txt")
	os.WriteFile(notACard, bytes.ReplaceAll([]byte("shopping list\nmilk\n"), []byte("\n"), []byte("\r\n")), 0o644)
	oneLineError(t, run(t, "", "--home", auditor, "trust", "add", notACard), ExitRejected, "not a Sluice station card")
}
