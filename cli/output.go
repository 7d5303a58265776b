package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tenantmap/tenantmap"
)

// printJSON writes v as indented JSON.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes rows under a header, aligned.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// tenantJSON is a tenant as --json prints it.
type tenantJSON struct {
	ID               string     `json:"id"`
	Key              string     `json:"key"`
	Status           string     `json:"status"`
	Version          int64      `json:"version"`
	MigrationVersion int64      `json:"migration_version"`
	CreatedAt        time.Time  `json:"created_at"`
	PurgeAfter       *time.Time `json:"purge_after,omitempty"`
	LastError        string     `json:"last_error,omitempty"`
}

func toJSON(t tenantmap.Tenant) tenantJSON {
	j := tenantJSON{ID: t.ID, Key: t.Key, Status: string(t.Status), Version: t.Version, MigrationVersion: t.MigrationVersion, CreatedAt: t.CreatedAt, LastError: t.LastError}
	if !t.PurgeAfter.IsZero() {
		p := t.PurgeAfter
		j.PurgeAfter = &p
	}
	return j
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// errText is an error as one line of a table.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return oneLine(err.Error())
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
