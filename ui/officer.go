package ui

import (
	"fmt"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"sluice/app"
	"sluice/internal/safetext"
)

// idleSignOut is how long an officer stays signed in at the desktop
// without a Sluice action (a seal, a receive, a decision). A kiosk is a
// shared machine; an unattended session must not let the next person act
// in someone else's name.
var idleSignOut = 5 * time.Minute

// session is the officer signed in at this desktop, once officers are
// enrolled (sluice officer add, or the Station screen). Custody records of
// what is done here name them; with no officer enrolled they name the OS
// user, as before. Everything here runs on the UI thread.
type session struct {
	st      *app.Station
	win     fyne.Window
	officer *app.SignedIn
	last    time.Time
	// changed is called on sign-in and sign-out.
	changed []func()

	label   *widget.Label
	signIn  *widget.Button
	signOut *widget.Button
	bar     *fyne.Container
}

func newSession(st *app.Station, w fyne.Window) *session {
	s := &session{st: st, win: w}
	s.label = widget.NewLabel("")
	s.signIn = widget.NewButtonWithIcon("Sign in…", theme.AccountIcon(), func() { s.ask("", nil) })
	s.signOut = widget.NewButtonWithIcon("Sign out", theme.LogoutIcon(), s.end)
	s.bar = container.NewHBox(s.label, s.signIn, s.signOut)
	s.refresh()
	return s
}

// watch signs the officer out after idleSignOut without an action, until
// done is closed.
func (s *session) watch(done <-chan struct{}) {
	go func() {
		t := time.NewTicker(min(10*time.Second, idleSignOut/4))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				onUI(func() {
					if s.expired() {
						s.end()
						s.label.SetText("Signed out after " + idleSignOut.String() + " idle")
					}
				})
			}
		}
	}()
}

// enrolled says whether officers are enrolled on this station.
func (s *session) enrolled() bool {
	list, err := s.st.Officers()
	return err == nil && len(list) > 0
}

// refresh shows who is signed in; nothing when no officer is enrolled.
// An officer removed since signing in is signed out.
func (s *session) refresh() {
	if s.officer != nil {
		list, err := s.st.Officers()
		if err != nil || !slices.ContainsFunc(list, func(o app.Officer) bool { return o.Name == s.officer.Name }) {
			s.officer = nil
		}
	}
	if !s.enrolled() {
		s.bar.Hide()
		return
	}
	s.bar.Show()
	if s.officer != nil {
		s.label.SetText("Officer " + safetext.Line(s.officer.Name))
		s.signIn.Hide()
		s.signOut.Show()
	} else {
		s.label.SetText("No officer signed in")
		s.signIn.Show()
		s.signOut.Hide()
	}
}

// expired says whether the officer signed in has been idle too long, by
// the wall clock (a monotonic clock stops while the machine sleeps).
func (s *session) expired() bool {
	return s.officer != nil && time.Now().Round(0).Sub(s.last) >= idleSignOut
}

// acting returns the station acting for the signed-in officer (or the OS
// user when none is), for one job, and counts as activity. An officer
// idle too long is signed out first.
func (s *session) acting() *app.Station {
	if s.expired() {
		s.end()
	}
	if s.officer != nil {
		s.last = time.Now().Round(0)
	}
	return s.st.AsOfficer(s.officer)
}

// asQuorum runs then with the station acting for the officer signed in
// (asking one to sign in first, once officers are enrolled) and the
// other officers the two-person rules need for a change of this kind
// (asked for in a dialog); what says what for.
func (s *session) asQuorum(what string, kind app.RuleChange, then func(st *app.Station, others []*app.SignedIn)) {
	s.require(what, func() {
		n := s.st.OthersNeeded(kind)
		if n == 0 {
			then(s.acting(), nil)
			return
		}
		s.askApprovers(n, fmt.Sprintf("To %s, %d other officer(s) must approve", what, n), func(others []*app.SignedIn) {
			then(s.acting(), others)
		})
	})
}

// require runs then once an officer is signed in, asking for one first
// when officers are enrolled and none is; why says what for ("release
// bundle …").
func (s *session) require(why string, then func()) {
	if s.expired() {
		s.end()
	}
	if s.officer != nil || !s.enrolled() {
		then()
		return
	}
	s.ask(why, then)
}

// ask shows the sign-in dialog; then, if set, runs after a sign-in.
func (s *session) ask(why string, then func()) {
	names, ok := s.names("")
	if !ok {
		return
	}
	who := widget.NewSelect(names, nil)
	if len(names) == 1 {
		who.SetSelected(names[0])
	}
	pass := widget.NewPasswordEntry()
	title := "Sign in"
	if why != "" {
		title = "Sign in to " + why
	}
	d := dialog.NewForm(title, "Sign in", "Back", []*widget.FormItem{
		widget.NewFormItem("Officer", who), widget.NewFormItem("Passphrase", pass),
	}, func(ok bool) {
		if !ok || who.Selected == "" {
			return
		}
		name, secret := who.Selected, []byte(pass.Text)
		go func() {
			o, err := s.st.SignIn(name, secret) // scrypt: about a second
			onUI(func() {
				if err != nil {
					showError(err, s.win)
					return
				}
				s.begin(o)
				if then != nil {
					then()
				}
			})
		}()
	}, s.win)
	pass.OnSubmitted = func(string) { d.Submit() } // Enter signs in
	d.Resize(fyne.NewSize(420, d.MinSize().Height))
	d.Show()
	s.win.Canvas().Focus(pass)
}

func (s *session) begin(o *app.SignedIn) {
	s.officer, s.last = o, time.Now().Round(0)
	s.refresh()
	for _, f := range s.changed {
		f()
	}
}

func (s *session) end() {
	s.officer = nil
	s.refresh()
	for _, f := range s.changed {
		f()
	}
}

// askApprovers signs in n officers other than the one signed in (a seal
// the policy requires approvals of; a change the two-person rules guard),
// titled title, and passes them to then.
func (s *session) askApprovers(n int, title string, then func([]*app.SignedIn)) {
	but := ""
	if s.officer != nil {
		but = s.officer.Name
	}
	names, ok := s.names(but)
	if !ok {
		return
	}
	var items []*widget.FormItem
	whos := make([]*widget.Select, n)
	passes := make([]*widget.Entry, n)
	for i := range n {
		whos[i], passes[i] = widget.NewSelect(names, nil), widget.NewPasswordEntry()
		label := "Approver"
		if n > 1 {
			label = fmt.Sprintf("Approver %d", i+1)
		}
		items = append(items, widget.NewFormItem(label, whos[i]), widget.NewFormItem("Passphrase", passes[i]))
	}
	d := dialog.NewForm(title, "Approve", "Back", items, func(ok bool) {
		if !ok {
			return
		}
		type ask struct {
			name   string
			secret []byte
		}
		var asks []ask
		for i := range n {
			asks = append(asks, ask{whos[i].Selected, []byte(passes[i].Text)})
		}
		go func() {
			var signed []*app.SignedIn
			var err error
			for _, a := range asks {
				if a.name == "" {
					continue // app says how many are missing
				}
				var o *app.SignedIn
				if o, err = s.st.SignIn(a.name, a.secret); err != nil {
					break
				}
				signed = append(signed, o)
			}
			onUI(func() {
				if err != nil {
					showError(err, s.win)
					return
				}
				then(signed)
			})
		}()
	}, s.win)
	d.Resize(fyne.NewSize(460, d.MinSize().Height))
	d.Show()
}

// names lists the enrolled officers but one ("" for none), saying so on
// screen when they cannot be read.
func (s *session) names(but string) ([]string, bool) {
	officers, err := s.st.Officers()
	if err != nil {
		showError(err, s.win)
		return nil, false
	}
	var names []string
	for _, o := range officers {
		if o.Name != but {
			names = append(names, o.Name)
		}
	}
	return names, true
}
