package operator

import (
	"net/http"
	"time"

	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// killSwitchPages are the global kill switch: its state, reason and
// history, the form that raises or lowers it, and each live process's
// acknowledgement of its latest change.
type killSwitchPages struct{ *site }

func (p killSwitchPages) register() {
	p.handle("GET /killswitch", p.show)
	p.handle("POST /killswitch/global", p.set)
}

type killSwitchView struct {
	Global  killswitch.SwitchAcks
	History []store.KillSwitchChange
	Rows    []processRow
	Actor   string
}

// processRow is a process as the page shows it.
type processRow struct {
	store.ProcessAck
	Held bool // acknowledged, or loaded the state after the change
	// Lag is how long after the change the process installed it.
	Lag time.Duration
}

// processRows are a switch's live processes as the pages show them.
func processRows(s killswitch.SwitchAcks) []processRow {
	var rows []processRow
	for _, pa := range s.Processes {
		row := processRow{ProcessAck: pa, Held: pa.Acknowledged(s.Switch.ChangedAt)}
		if pa.Ack != nil {
			row.Lag = pa.Ack.InstalledAt.Sub(s.Switch.ChangedAt).Round(time.Millisecond)
		}
		rows = append(rows, row)
	}
	return rows
}

func (p killSwitchPages) show(w http.ResponseWriter, r *http.Request) error {
	g, hist, err := p.opts.Backend.GlobalKillSwitch(r.Context())
	if err != nil {
		return err
	}
	v := killSwitchView{Global: g, History: hist, Actor: p.opts.Actor, Rows: processRows(g)}
	p.render(w, r, http.StatusOK, "killswitch", "Kill switch", v)
	return nil
}

// set raises or lowers the global switch: action "on" or "off", and a
// reason (required; the use case validates it and the audit keeps it).
func (p killSwitchPages) set(w http.ResponseWriter, r *http.Request) error {
	const op = "operator.SetGlobalKillSwitch"
	action := r.PostForm.Get("action")
	if action != "on" && action != "off" {
		return rampart.Errorf(op, rampart.KindInvalid, "action: on or off")
	}
	reason := r.PostForm.Get("reason")
	if _, err := rampart.ValidateReason(reason); err != nil {
		return err
	}
	if err := p.opts.Backend.SetGlobalKillSwitch(r.Context(), p.opts.Actor, action == "on", reason); err != nil {
		return err
	}
	p.opts.Logger.Info("operator console: global AI kill switch changed", "action", action, "actor", p.opts.Actor)
	http.Redirect(w, r, "/killswitch?done="+action, http.StatusSeeOther) // #nosec G710 -- a fixed local path; action is "on" or "off" (checked above)
	return nil
}
