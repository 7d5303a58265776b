package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tenantmap/tenantmap"
)

// progress shows a migration's progress on standard error: a bar redrawn
// in place on a terminal, or a plain line a second (and one at the end of
// each pass) when standard error is a file or a pipe.
type progress struct {
	w    io.Writer
	mode string // "bar", "lines" or "none"

	mu      sync.Mutex
	last    tenantmap.MigrateProgress
	printed time.Time
	drawn   bool
}

func newProgress(w io.Writer, mode string) *progress { return &progress{w: w, mode: mode} }

func (p *progress) update(m tenantmap.MigrateProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == "none" {
		return
	}
	if (m.Version != p.last.Version || m.Done < p.last.Done) && p.drawn && p.mode == "bar" {
		fmt.Fprintln(p.w) // a new pass: a new bar
	}
	p.last = m
	now := time.Now()
	end := m.Done == m.Total
	switch p.mode {
	case "bar":
		if end || now.Sub(p.printed) >= 100*time.Millisecond {
			fmt.Fprint(p.w, "\r"+p.line(m, true))
			p.printed, p.drawn = now, true
		}
	case "lines":
		if end || now.Sub(p.printed) >= time.Second {
			fmt.Fprintln(p.w, p.line(m, false))
			p.printed = now
		}
	}
}

// line renders the progress: done of total, rate, time left.
func (p *progress) line(m tenantmap.MigrateProgress, bar bool) string {
	elapsed := m.Elapsed
	rate := 0.0
	if elapsed > 0 {
		rate = float64(m.Done) / elapsed.Seconds()
	}
	eta := "-"
	if rate > 0 && m.Done < m.Total {
		eta = (time.Duration(float64(m.Total-m.Done)/rate*float64(time.Second)) + time.Second/2).Truncate(time.Second).String()
	} else if m.Done == m.Total {
		eta = "0s"
	}
	pct := 100
	if m.Total > 0 {
		pct = m.Done * 100 / m.Total
	}
	text := fmt.Sprintf("to version %d: %d/%d tenants %3d%%  %.0f/s  ETA %s  failed %d", m.Version, m.Done, m.Total, pct, rate, eta, m.Failed)
	if !bar {
		return "migrate " + text
	}
	const width = 30
	filled := width * pct / 100
	return "[" + strings.Repeat("=", filled) + strings.Repeat(" ", width-filled) + "] " + text + "  "
}

// done ends the bar's line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn && p.mode == "bar" {
		fmt.Fprintln(p.w)
	}
}
