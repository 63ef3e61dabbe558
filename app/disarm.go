package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"sluice/crypto"
	"sluice/internal/durable"
	"sluice/internal/pdfcheck"
	"sluice/internal/regfile"
	"sluice/internal/safetext"
	"sluice/transfer/bundle"
	"sluice/transfer/custody"
	"sluice/transfer/inspect"
	"sluice/transfer/transform"
)

// Transform, then verify (issue 14; ../shared/ANCHORS.md section 2; UK
// NCSC "transform on the untrusted side, verify on the trusted side";
// NIST 800-53 AC-4(24), (27)). The policy's [transform] says, for
// documents, images and text, where they are rebuilt into a simple form:
// a sending station transforms what a recipient's policy (its copy, see
// ImportPolicy) wants transformed by the sender, seals the output marked
// with its original (bundle.Transformed) and keeps the original in its
// spool; a kiosk verifies every marked file is in its simple form, holds a
// file of a kind its policy wants transformed that came as it was, and
// transforms in quarantine what its policy wants transformed there. Each
// side records every transformation (custody "transformed").

// Files under a station's home for transformations.
const (
	transformSpool = "spool/transform" // a sender's outputs until sealed
	originalsDir   = "originals"       // HOME/originals/<bundle-id>/: the originals, kept
	// HOME/sealed-originals/<bundle-id>/: the originals a sender sealed
	// beside the files it transformed (policy seal_originals), kept
	sealedOriginalsDir = "sealed-originals"
)

// transformer is the policy's transformer; tmp holds its intermediate files.
func (s *Station) transformer(p TransformPolicy, tmp string) (*transform.Transformer, error) {
	return transform.New(transform.Config{DPI: p.DPI, MaxPixels: p.MaxPixels, OCR: p.OCR, TempDir: tmp})
}

// readHead reads the first transform.HeadSize bytes of the file at p.
func readHead(p string) ([]byte, error) {
	f, err := regfile.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, transform.HeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return head[:n], nil
}

// kindName says a transformation's kind of content for people.
func kindName(a transform.Action) string {
	switch a {
	case transform.ActionPDFOfImages:
		return "documents"
	case transform.ActionReencodeImage:
		return "images"
	case transform.ActionCleanText:
		return "text"
	}
	return string(a)
}

// ---- Sending side ----

// StagedTransform is what happens to one staged file of a kind a
// recipient's policy wants the sender to transform.
type StagedTransform struct {
	// Path is the staged file's name in the bundle ("reports/plan.docx").
	Path string
	// Action is the transformation (transform.Action*); Why says it for
	// people, one line.
	Action transform.Action
	Why    string
	// Result is what was made, when it was; Err why not (the file would
	// be held, so the seal is refused until it is unstaged).
	Result *transform.Result
	Err    error
	// For names the recipients whose policy asks for it.
	For []string
}

// Transforms are the staged files' transformations, and the sources to
// seal in their place. Close removes the outputs once sealed.
type Transforms struct {
	Files   []StagedTransform
	Sources []bundle.Source
	// SealsOriginals says the originals of Files are sealed too, in the
	// bundle's originals part: every recipient's policy accepts them.
	SealsOriginals bool
	dir            string
}

// Close removes the transformed outputs from the spool.
func (t *Transforms) Close() {
	if t != nil && t.dir != "" {
		os.RemoveAll(t.dir)
	}
}

// Failed lists the files that could not be transformed.
func (t *Transforms) Failed() []StagedTransform {
	var out []StagedTransform
	for _, f := range t.Files {
		if f.Err != nil {
			out = append(out, f)
		}
	}
	return out
}

// senderWants is, for each kind of content, the recipients whose policy
// (the copy imported here) has the sender transform it.
func (s *Station) senderWants(to []string) (map[transform.Action][]string, error) {
	want := map[transform.Action][]string{}
	for _, name := range to {
		p, ok, err := s.PolicyOf(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		for _, a := range []transform.Action{transform.ActionPDFOfImages, transform.ActionReencodeImage, transform.ActionCleanText} {
			if m := p.Transform.forAction(string(a)); m == TransformSender || m == TransformBoth {
				want[a] = append(want[a], name)
			}
		}
	}
	return want, nil
}

// TransformsAsked says whether any recipient in to has its policy (the
// copy imported here) ask this station to transform some kind of content.
func (s *Station) TransformsAsked(to []string) bool {
	want, err := s.senderWants(to)
	return err != nil || len(want) > 0
}

// TransformStaged transforms the staged files whose kind a recipient's
// policy wants the sender to transform (documents into PDFs of images,
// images re-encoded, text cleaned), on as many files at once as there
// are cores, each in the transformer's sandbox; progress, if set, is
// called after each file. The returned Sources are what to seal: each
// transformed file in place of its original (renamed as the output is:
// plan.docx → plan.pdf), marked with it, and its links sidecar beside it.
// A file whose transformation fails keeps its Err; nothing is passed
// through in its place. With nothing to transform, Sources are srcs.
func (s *Station) TransformStaged(ctx context.Context, srcs []bundle.Source, to []string, progress func(done, total int)) (*Transforms, error) {
	want, err := s.senderWants(to)
	if err != nil {
		return nil, err
	}
	out := &Transforms{Sources: srcs}
	if len(want) == 0 {
		return out, nil
	}
	if out.SealsOriginals, err = s.acceptsSealedOriginals(to); err != nil {
		return nil, err
	}
	type job struct {
		i      int // in srcs
		action transform.Action
	}
	var jobs []job
	for i, src := range srcs {
		if src.Type != bundle.TypeFile {
			continue
		}
		head, err := readHead(src.OSPath)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", safetext.Line(src.OSPath), err)
		}
		if a := transform.KindOf(path.Base(src.Path), head); len(want[a]) > 0 {
			jobs = append(jobs, job{i, a})
		}
	}
	if len(jobs) == 0 {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Join(s.Home, transformSpool), 0o700); err != nil {
		return nil, fmt.Errorf("transform spool: %w", err)
	}
	if out.dir, err = os.MkdirTemp(filepath.Join(s.Home, transformSpool), "job-"); err != nil {
		return nil, fmt.Errorf("transform spool: %w", err)
	}
	p := s.Policy.Transform
	if rp, ok, _ := s.PolicyOf(want[jobs[0].action][0]); ok {
		p = rp.Transform // the recipient's resolution and bomb limit
	}
	t, terr := s.transformer(p, out.dir)
	out.Files = make([]StagedTransform, len(jobs))
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	sem := make(chan struct{}, workers())
	for k, j := range jobs {
		src := srcs[j.i]
		st := &out.Files[k]
		st.Path, st.Action, st.For = src.Path, j.action, want[j.action]
		if terr != nil {
			st.Err = fmt.Errorf("this station cannot transform %s: %w", kindName(j.action), terr)
			continue
		}
		head, _ := readHead(src.OSPath)
		var plan transform.Action
		if plan, st.Why = t.Plan(path.Base(src.Path), head); plan == transform.ActionHold {
			st.Err = errors.New(st.Why)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			dir := filepath.Join(out.dir, fmt.Sprint(k))
			err := os.Mkdir(dir, 0o700)
			if err == nil {
				st.Result, err = t.Transform(ctx, src.OSPath, dir)
			}
			if err == nil && src.SHA256 != nil && st.Result.OriginalSHA256 != *src.SHA256 {
				err = fmt.Errorf("%s changed since it was staged and hashed; stage it again", safetext.Line(src.OSPath))
			}
			st.Err = err
			mu.Lock()
			done++
			if progress != nil {
				progress(done, len(jobs))
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		out.Close()
		return nil, err
	}
	// The sources to seal: each transformed file in its original's place.
	byIndex := map[int]*StagedTransform{}
	for k, j := range jobs {
		byIndex[j.i] = &out.Files[k]
	}
	var sealed []bundle.Source
	for i, src := range srcs {
		st := byIndex[i]
		if st == nil || st.Result == nil || st.Err != nil {
			sealed = append(sealed, src)
			continue
		}
		r := st.Result
		folder := path.Dir(src.Path)
		named := func(p string) string {
			if folder == "." {
				return filepath.Base(p)
			}
			return folder + "/" + filepath.Base(p)
		}
		mark := &bundle.Transformed{From: path.Base(src.Path), SHA256: r.OriginalSHA256, Size: r.OriginalSize,
			Action: string(r.Action), Tool: r.Tool, Version: r.ToolVersion}
		sum := crypto.Digest(r.OutputSHA256)
		sealed = append(sealed, bundle.Source{Path: named(r.Output), OSPath: r.Output, Type: bundle.TypeFile, Mode: src.Mode.Perm(),
			Size: r.OutputSize, ModTime: src.ModTime, SHA256: &sum, Transformed: mark})
		if r.Sidecar != "" {
			info, err := os.Stat(r.Sidecar)
			if err != nil {
				out.Close()
				return nil, fmt.Errorf("links of %s: %w", safetext.Line(src.Path), err)
			}
			side := *mark
			side.Action = "extract-links"
			sealed = append(sealed, bundle.Source{Path: named(r.Sidecar), OSPath: r.Sidecar, Type: bundle.TypeFile, Mode: 0o644,
				Size: info.Size(), ModTime: src.ModTime, Transformed: &side})
		}
	}
	slices.SortStableFunc(sealed, func(a, b bundle.Source) int { return strings.Compare(a.Path, b.Path) })
	if err := bundle.CheckSources(sealed); err != nil {
		out.Close()
		return nil, fmt.Errorf("after transformation: %w; rename the staged file so its transformed name is free", err)
	}
	out.Sources = sealed
	return out, nil
}

// transformedText is one transformation for a custody record, with the
// pages OCR gave text to, when it was on.
func transformedText(from, to string, r *transform.Result) string {
	s := fmt.Sprintf("%s (sha256 %x, %s) → %s (sha256 %x, %s) by %s %s in %.1f s",
		from, r.OriginalSHA256, humanize.IBytes(uint64(r.OriginalSize)), to, r.OutputSHA256, humanize.IBytes(uint64(r.OutputSize)),
		r.Tool, r.ToolVersion, r.Duration.Seconds())
	if r.TextPages > 0 || r.OCRFailed > 0 {
		s += fmt.Sprintf(", OCR text on %d of %d pages", r.TextPages, r.Pages)
		if r.OCRFailed > 0 {
			s += fmt.Sprintf(" (%d failed, kept without text)", r.OCRFailed)
		}
	}
	return s
}

// recordTransformed appends "transformed" records for bundle id listing
// every transformation, as many per record as a line holds.
func (s *Station) recordTransformed(id, peer string, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	return s.recordAll(transformedRecords(id, peer, lines)...)
}

// transformedRecords are the "transformed" records of bundle id.
func transformedRecords(id, peer string, lines []string) []custody.Record {
	const room = 48 << 10
	var recs []custody.Record
	for start := 0; start < len(lines); {
		n, size := 0, 0
		for start+n < len(lines) && (n == 0 || size+len(lines[start+n]) < room) {
			size += len(lines[start+n]) + 2
			n++
		}
		recs = append(recs, custody.Record{Event: custody.EventTransformed, Bundle: id, Peer: peer, Files: int64(n), Outcome: "ok",
			Reason: safetext.Line(strings.Join(lines[start:start+n], "; "))})
		start += n
	}
	return recs
}

// acceptsSealedOriginals says whether every recipient in to has its
// policy (the copy imported here) accept sealed originals ([transform]
// seal_originals): one that does not would refuse the whole bundle.
func (s *Station) acceptsSealedOriginals(to []string) (bool, error) {
	for _, name := range to {
		p, ok, err := s.PolicyOf(name)
		if err != nil || !ok || !p.Transform.SealOriginals {
			return false, err
		}
	}
	return len(to) > 0, nil
}

// originalsToSeal are the staged originals of t's transformed files, to
// seal in the bundle's originals part (bundle.SealOptions.Originals) when
// t.SealsOriginals (what the officer was shown) and every recipient in to
// still accepts them (a policy imported since may not). Each is held to
// the SHA-256 the transformer read, so a file changed since aborts the
// seal.
func (s *Station) originalsToSeal(to []string, staged []bundle.Source, t *Transforms) ([]bundle.Source, error) {
	if t == nil || !t.SealsOriginals {
		return nil, nil
	}
	if ok, err := s.acceptsSealedOriginals(to); err != nil || !ok {
		return nil, err
	}
	byPath := map[string]bundle.Source{}
	for _, src := range staged {
		byPath[src.Path] = src
	}
	var out []bundle.Source
	for _, f := range t.Files {
		if f.Result == nil || f.Err != nil {
			continue
		}
		src, ok := byPath[f.Path]
		if !ok {
			return nil, fmt.Errorf("the original of %s is no longer staged; stage it again", safetext.Line(f.Path))
		}
		sum := crypto.Digest(f.Result.OriginalSHA256)
		src.SHA256, src.Size, src.Transformed = &sum, f.Result.OriginalSize, nil
		out = append(out, src)
	}
	return out, nil
}

// keepOriginals copies the originals of a sealed bundle's transformed
// files into HOME/originals/<id>/, for the officer to compare: copies,
// not hard links (an edit of the staged file would change a link), each
// checked to be what was transformed and recorded.
func (s *Station) keepOriginals(id string, srcs []bundle.Source, t *Transforms) error {
	byPath := map[string]bundle.Source{}
	for _, src := range srcs {
		byPath[src.Path] = src
	}
	for _, f := range t.Files {
		if f.Result == nil || f.Err != nil {
			continue
		}
		src := byPath[f.Path]
		dst := filepath.Join(s.Home, originalsDir, id, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := copyFile(src.OSPath, dst, 0o600); err != nil {
			return fmt.Errorf("keep the original of %s: %w", safetext.Line(f.Path), err)
		}
		kept, err := regfile.Open(dst)
		if err != nil {
			return fmt.Errorf("keep the original of %s: %w", safetext.Line(f.Path), err)
		}
		sum, _, err := crypto.HashReader(kept)
		kept.Close()
		if err == nil && sum != crypto.Digest(f.Result.OriginalSHA256) {
			err = errors.New("it changed after it was transformed")
		}
		if err != nil {
			os.Remove(dst)
			return fmt.Errorf("keep the original of %s: %w", safetext.Line(f.Path), err)
		}
	}
	return nil
}

// ---- Receiving side ----

// sealedOriginals are the originals a bundle carries (its envelope's
// Originals): extracted into HOME/receiving/<id>.originals/ (which the
// next receive removes if this one is killed) while the bundle is
// checked, then kept in HOME/sealed-originals/<id>/ once it is released
// or held, never in the quarantine or the release.
type sealedOriginals struct {
	tmp, dir string
	root     *os.Root
	settled  bool
}

func (s *Station) newSealedOriginals(id string) (*sealedOriginals, error) {
	o := &sealedOriginals{tmp: filepath.Join(s.Home, receivingDir, id+".originals"), dir: filepath.Join(s.Home, sealedOriginalsDir, id)}
	if err := os.RemoveAll(o.tmp); err != nil {
		return nil, fmt.Errorf("sealed originals: %w", err)
	}
	if err := os.Mkdir(o.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("sealed originals: %w", err)
	}
	r, err := os.OpenRoot(o.tmp)
	if err != nil {
		os.RemoveAll(o.tmp)
		return nil, fmt.Errorf("sealed originals: %w", err)
	}
	o.root = r
	return o, nil
}

// keep makes the originals durable and moves them to their place; one a
// killed receive of the same bundle left there is replaced (a replay
// never gets this far).
func (o *sealedOriginals) keep() error {
	if o == nil {
		return nil
	}
	o.root.Close()
	if err := durable.SyncTree(o.tmp); err != nil {
		return fmt.Errorf("keep the sealed originals: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(o.dir), 0o700); err != nil {
		return fmt.Errorf("keep the sealed originals: %w", err)
	}
	if err := os.RemoveAll(o.dir); err != nil {
		return fmt.Errorf("keep the sealed originals: %w", err)
	}
	if err := os.Rename(o.tmp, o.dir); err != nil {
		return fmt.Errorf("keep the sealed originals: %w", err)
	}
	return durable.SyncDir(filepath.Dir(o.dir))
}

// dropStrayOriginals removes the sealed originals of bundles neither
// released nor held (not seen, no review item): a receive killed after it
// kept them and before the release or the hold was recorded. The caller
// holds the receive lock, after recoverReleases has marked seen what was
// released.
func (s *Station) dropStrayOriginals() {
	dir := filepath.Join(s.Home, sealedOriginalsDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		id := e.Name()
		if !bundle.ValidID(id) {
			continue
		}
		if seen, err := s.seen(id); err != nil || seen {
			continue
		}
		if _, err := os.Lstat(filepath.Join(s.Home, reviewDir, id+".json")); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		os.RemoveAll(filepath.Join(dir, id))
	}
}

// settle says the bundle was released or held: its originals stay.
func (o *sealedOriginals) settle() {
	if o != nil {
		o.settled = true
	}
}

// drop removes what was extracted, and what was kept unless settled.
func (o *sealedOriginals) drop() {
	if o == nil {
		return
	}
	o.root.Close()
	os.RemoveAll(o.tmp)
	if !o.settled {
		os.RemoveAll(o.dir)
	}
}

// kioskTransforms are the files a kiosk transforms in quarantine before
// release.
type kioskTransforms struct {
	paths []string // in the quarantine, slash-separated
}

// checkTransforms verifies, after the content checks, that every file
// marked transformed is in its simple form (in a bounded worker; parsers
// independent of the renderers that made it), and holds a file of a kind
// the policy has the sender transform that came as it was. kinds gives
// the kind of the small files the extractor's early checks saw; others
// are read from q. It returns what the kiosk itself transforms.
func (s *Station) checkTransforms(ctx context.Context, q string, entries []bundle.ManifestEntry, kinds map[string]transform.Action,
	rep *ContentReport, reinspect func(rel string) inspect.Report) (*kioskTransforms, error) {
	p := s.Policy.Transform
	var t *transform.Transformer
	var terr error
	need := func() (*transform.Transformer, error) {
		if t == nil && terr == nil {
			t, terr = s.transformer(p, filepath.Dir(q))
		}
		return t, terr
	}
	held := map[string]int{}
	for i, h := range rep.Held {
		held[h.Path] = i
	}
	hold := func(rel, reason, detail string) {
		rep.merge(held, inspect.Report{Path: rel, Findings: []inspect.Finding{{Path: rel, Reason: reason, Detail: detail}}}, reinspect)
	}
	// The marked files are verified first, many to a worker
	// (Transformer.VerifyFiles: starting one per file was most of the
	// cost of a bundle of small files); each verdict is then applied in
	// the manifest's order.
	var marked []string
	for _, e := range entries {
		if e.Type == bundle.TypeFile && e.Transformed != nil {
			marked = append(marked, filepath.Join(q, filepath.FromSlash(e.Path)))
		}
	}
	verdicts := map[string]error{}
	if len(marked) > 0 {
		if t, err := need(); err == nil {
			for i, err := range t.VerifyFiles(ctx, marked) {
				verdicts[marked[i]] = err
			}
		}
	}
	kt := &kioskTransforms{}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if e.Type != bundle.TypeFile {
			continue
		}
		full := filepath.Join(q, filepath.FromSlash(e.Path))
		if m := e.Transformed; m != nil {
			verdict, checked := verdicts[full]
			if _, err := need(); err != nil {
				hold(e.Path, inspect.ReasonNotChecked, fmt.Sprintf("marked transformed from %s, but this station cannot verify the simple form: %v", m.From, err))
			} else if !checked {
				hold(e.Path, inspect.ReasonNotChecked, fmt.Sprintf("marked transformed from %s, but it was not verified; receive the bundle again", m.From))
			} else if verdict != nil {
				hold(e.Path, inspect.ReasonNotSimple, fmt.Sprintf("marked transformed from %s by %s %s, but it is not in the simple form: %v", m.From, m.Tool, m.Version, verdict))
			} else {
				rep.TransformedVerified++
			}
			// Whether this station transforms it again follows its
			// content's kind, not only the action its mark names: a
			// sender chooses the mark ("extract-links" on a PDF).
			kind := transform.ActionHold
			if head, err := readHead(full); err == nil {
				kind = transform.KindOf(path.Base(e.Path), head)
			}
			if mode, kmode := p.forAction(m.Action), p.forAction(string(kind)); mode == TransformKiosk || mode == TransformBoth ||
				kmode == TransformKiosk || kmode == TransformBoth {
				kt.paths = append(kt.paths, e.Path)
			}
			continue
		}
		if !p.any() {
			continue
		}
		kind, ok := kinds[e.Path]
		if !ok {
			if kinds != nil && e.Size < bundle.SmallFile {
				continue // the early checks saw it: no kind to transform
			}
			head, err := readHead(full)
			if err != nil {
				hold(e.Path, inspect.ReasonNotChecked, "cannot read it to know its kind: "+err.Error())
				continue
			}
			kind = transform.KindOf(path.Base(e.Path), head)
		}
		switch p.forAction(string(kind)) {
		case TransformSender:
			hold(e.Path, inspect.ReasonNotTransformed, fmt.Sprintf("this station's policy has the sender transform %s, and this one came as it was (not marked transformed)", kindName(kind)))
		case TransformBoth:
			// Held, and transformed here as "both" says: an officer's
			// override then releases the transformed file.
			hold(e.Path, inspect.ReasonNotTransformed, fmt.Sprintf("this station's policy has the sender transform %s, and this one came as it was (not marked transformed)", kindName(kind)))
			kt.paths = append(kt.paths, e.Path)
		case TransformKiosk:
			kt.paths = append(kt.paths, e.Path)
		}
	}
	return kt, nil
}

// KioskTransformed is one file a kiosk transformed before release.
type KioskTransformed struct {
	Path, Output string // in the release, slash-separated
	Result       *transform.Result
}

// transformInQuarantine transforms kt's files in the quarantine q. All
// are transformed first, beside q; one that cannot be is held
// (transform-failed) and stays as it was. Each output takes its
// original's place (renamed as the output is) and the original moves to
// HOME/originals/<id>/. It returns what was done, for the records, and a
// function that removes the outputs' working folder.
func (s *Station) transformInQuarantine(ctx context.Context, q, id string, kt *kioskTransforms, rep *ContentReport,
	reinspect func(rel string) inspect.Report) ([]KioskTransformed, error) {
	if kt == nil || len(kt.paths) == 0 {
		return nil, nil
	}
	work, err := os.MkdirTemp(filepath.Dir(q), ".transform-")
	if err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	defer os.RemoveAll(work)
	t, terr := s.transformer(s.Policy.Transform, work)
	held := map[string]int{}
	for i, h := range rep.Held {
		held[h.Path] = i
	}
	done := make([]KioskTransformed, len(kt.paths))
	for i, rel := range kt.paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var r *transform.Result
		err := terr
		if err == nil {
			dir := filepath.Join(work, fmt.Sprint(i))
			if err = os.Mkdir(dir, 0o700); err == nil {
				r, err = t.Transform(ctx, filepath.Join(q, filepath.FromSlash(rel)), dir)
			}
		}
		if err != nil {
			rep.merge(held, inspect.Report{Path: rel, Findings: []inspect.Finding{{Path: rel, Reason: inspect.ReasonTransformFailed,
				Detail: "this station could not transform it before release: " + err.Error()}}}, reinspect)
			continue
		}
		done[i] = KioskTransformed{Path: rel, Output: path.Join(path.Dir(rel), filepath.Base(r.Output)), Result: r}
	}
	// What could be transformed takes its original's place even when
	// another file could not (that one is held): a partial release, or an
	// officer's override, then releases the transformed content, never
	// an original the policy has this station transform.
	// An output whose name another file of the bundle has (logo.gif →
	// logo.png beside logo.png), or another output takes, is held before
	// anything moves: the sender could not know, and nothing is replaced.
	claimed := map[string]bool{}
	var made []KioskTransformed
	for _, d := range done {
		if d.Result == nil {
			continue
		}
		var clash string
		for _, out := range []string{d.Result.Output, d.Result.Sidecar} {
			if out == "" {
				continue
			}
			dst := path.Join(path.Dir(d.Path), filepath.Base(out))
			if claimed[dst] {
				clash = dst
			} else if _, err := os.Lstat(filepath.Join(q, filepath.FromSlash(dst))); err == nil && dst != d.Path {
				clash = dst
			}
		}
		if clash != "" {
			rep.merge(held, inspect.Report{Path: d.Path, Findings: []inspect.Finding{{Path: d.Path, Reason: inspect.ReasonTransformFailed,
				Detail: fmt.Sprintf("transformed, it would be %s, a name another file of the bundle has; it is kept as it came", path.Base(clash))}}}, reinspect)
			continue
		}
		for _, out := range []string{d.Result.Output, d.Result.Sidecar} {
			if out != "" {
				claimed[path.Join(path.Dir(d.Path), filepath.Base(out))] = true
			}
		}
		if err := s.replaceWithOutput(q, id, d.Path, d.Result); err != nil {
			return nil, fmt.Errorf("%w: transformed %s cannot take its place: %v", ErrRejected, safetext.Line(d.Path), err)
		}
		// A file held is now its output: a partial release keeps
		// that back, not a name no longer in the quarantine; and the
		// links read from it, which came from the held file, with it.
		i, isHeld := held[d.Path]
		if isHeld && d.Output != d.Path {
			rep.Held[i].Path = d.Output
			delete(held, d.Path)
			held[d.Output] = i
		}
		if isHeld && d.Result.Sidecar != "" {
			side := path.Join(path.Dir(d.Path), filepath.Base(d.Result.Sidecar))
			rep.Held = append(rep.Held, inspect.Report{Path: side, Findings: []inspect.Finding{{Path: side, Reason: rep.Held[i].Findings[0].Reason,
				Detail: fmt.Sprintf("the links read from %s, which is held: held with it", path.Base(d.Output))}}})
			held[side] = len(rep.Held) - 1
		}
		made = append(made, d)
	}
	return made, nil
}

// replaceWithOutput moves the original at rel out of the quarantine into
// the originals and the output (and its links sidecar) into its folder.
func (s *Station) replaceWithOutput(q, id, rel string, r *transform.Result) error {
	full := filepath.Join(q, filepath.FromSlash(rel))
	folder := filepath.Dir(full)
	keep := filepath.Join(s.Home, originalsDir, id, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(keep), 0o700); err != nil {
		return err
	}
	if err := os.Rename(full, keep); err != nil {
		if err := copyFile(full, keep, 0o600); err != nil {
			return fmt.Errorf("keep the original: %w", err)
		}
		os.Remove(full)
	}
	for _, out := range []string{r.Output, r.Sidecar} {
		if out == "" {
			continue
		}
		dst := filepath.Join(folder, filepath.Base(out))
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("its transformed name %s is taken by another file of the bundle", filepath.Base(out))
		}
		if err := copyFile(out, dst, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// kioskTransformedLines are the records' lines for what a kiosk did.
func kioskTransformedLines(done []KioskTransformed) []string {
	lines := make([]string, len(done))
	for i, d := range done {
		lines[i] = transformedText(d.Path, d.Output, d.Result)
	}
	return lines
}

// reinspector gives a file's type by content, for a held file's review.
func (s *Station) reinspector(ctx context.Context, q string, pdf *pdfcheck.Pool) func(rel string) inspect.Report {
	rules := contentRules(s.Policy, filepath.Dir(q), pdf)
	return func(rel string) inspect.Report { return s.checkFile(ctx, &rules, &engines{}, q, rel) }
}

// kindsIfComplete is the kinds the early checks noted, if they saw every
// small file of entries; else nil (every file's kind is read again).
func (e *earlyChecks) kindsIfComplete(entries []bundle.ManifestEntry) map[string]transform.Action {
	if e == nil {
		return nil
	}
	small := int64(0)
	for _, x := range entries {
		if x.Type == bundle.TypeFile && x.Size < bundle.SmallFile {
			small++
		}
	}
	if e.rep.Files != small {
		return nil
	}
	return e.kinds
}

// TransformPreview returns a PNG of the first page of a transformation's
// output, for the officer to look at before sealing: the output itself
// for an image, the first page drawn by mutool (at 60 DPI, in its own
// process, from the simple PDF the transformation wrote and verified)
// for a document. The PNG is beside the output and goes with it.
func TransformPreview(ctx context.Context, r *transform.Result) (string, error) {
	switch strings.ToLower(filepath.Ext(r.Output)) {
	case ".png", ".jpg", ".jpeg":
		return r.Output, nil
	case ".pdf":
	default:
		return "", fmt.Errorf("no preview of %s", filepath.Base(r.Output))
	}
	out := r.Output + ".preview.png"
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	mutool, err := exec.LookPath("mutool")
	if err != nil {
		return "", errors.New("no preview: mutool is not installed (Debian: mupdf-tools)")
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if b, err := exec.CommandContext(ctx, mutool, "draw", "-q", "-r", "60", "-o", out, r.Output, "1").CombinedOutput(); err != nil {
		return "", fmt.Errorf("preview: mutool: %v: %s", err, safetext.Line(strings.TrimSpace(string(b))))
	}
	return out, nil
}
