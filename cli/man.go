package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
)

// WriteManual writes sluice(1) in roff, made from the same command table
// and per-command help that sluice help prints, so the manual never says
// something the program does not. packaging/mkdeb calls it for the Debian
// package. date is the page's date (YYYY-MM-DD); version goes in the
// footer.
func WriteManual(w io.Writer, version, date string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, ".TH SLUICE 1 %s %s \"User Commands\"\n", roffQuote(date), roffQuote("Sluice "+version))
	b.WriteString(".SH NAME\nsluice \\- a transfer station for air\\-gapped networks\n")
	b.WriteString(".SH SYNOPSIS\n.B sluice\n.br\n.B sluice\n.RB [ \\-\\-home\n.IR DIR ]\n.RB [ \\-\\-kiosk ]\n.br\n.B sluice\n.I COMMAND\n.RI [ ARGS ]\n")
	b.WriteString(".SH DESCRIPTION\n")
	b.WriteString("With no arguments (or only \\fB\\-\\-home\\fR and \\fB\\-\\-kiosk\\fR), \\fBsluice\\fR opens the desktop app; " +
		"with a command it runs the command line, the scriptable contract for headless kiosks.\n")
	var help bytes.Buffer
	printHelp(&help)
	// The general help's closing lines (home, exit status, more help).
	if _, tail, ok := strings.Cut(help.String(), "\n\n"); ok {
		if i := strings.LastIndex(tail, "\n\n"); i >= 0 {
			b.WriteString(".PP\n")
			for _, l := range strings.Split(strings.TrimSpace(tail[i:]), "\n") {
				b.WriteString(roffLine(l) + "\n.br\n")
			}
		}
	}
	b.WriteString(".SH COMMANDS\n")
	for _, c := range commands {
		b.WriteString(".SS " + roffLine(c.name) + "\n")
		b.WriteString(".nf\n")
		for i, form := range strings.Split(c.args, " · ") {
			if i > 0 && strings.HasPrefix(form, c.name+" ") {
				form = strings.TrimPrefix(form, c.name+" ")
			}
			b.WriteString(roffLine(strings.TrimSpace("sluice "+c.name+" "+form)) + "\n")
		}
		b.WriteString(".fi\n.PP\n" + roffLine(upperFirst(c.summary)) + ".\n")
		if c.run == nil {
			continue
		}
		// The command's own --help, where it has flags to list. It
		// parses its flags before touching the station, so no station
		// is needed or opened.
		var out, errs bytes.Buffer
		if Run(context.Background(), []string{c.name, "--help"}, strings.NewReader(""), &out, &errs) != ExitOK {
			continue
		}
		_, flags, ok := strings.Cut(out.String(), "\nFlags:\n")
		if !ok {
			continue
		}
		skip := false
		for _, l := range strings.Split(strings.TrimRight(flags, "\n"), "\n") {
			switch {
			case strings.HasPrefix(l, "  --"):
				// --home is said once, above, for every command.
				skip = strings.HasPrefix(l, "  --home ")
				if !skip {
					b.WriteString(".TP\n.B " + roffLine(strings.TrimSpace(l)) + "\n")
				}
			case !skip:
				b.WriteString(roffLine(strings.TrimSpace(l)) + "\n")
			}
		}
	}
	b.WriteString(".SH ENVIRONMENT\n.TP\n.B SLUICE_HOME\nThe station directory, when \\fB\\-\\-home\\fR is not given.\n" +
		".TP\n.B GOMEMLIMIT\nOverrides the command line's soft memory limit (88 MiB).\n")
	b.WriteString(".SH SEE ALSO\n" + roffLine("The desktop app's Help, and docs/ in the source: FORMAT.md, SIGNATURES.md, CUSTODY.md, DIODE.md.") + "\n")
	_, err := w.Write(b.Bytes())
	return err
}

// roffLine escapes text for one roff line: backslashes, minus signs (so
// flags copy as ASCII) and a leading control character.
func roffLine(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func roffQuote(s string) string { return `"` + strings.ReplaceAll(roffLine(s), `"`, `\(dq`) + `"` }
