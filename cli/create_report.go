package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantmap/tenantmap"
)

// errNotAttempted is the result of a valid id that was not created because
// another id of the same command is invalid.
var errNotAttempted = errors.New("not attempted: another id is invalid")

// createResult is one id's result of tenants create: the tenant made, or
// the error. As JSON: the tenant's fields, or {"id", "error"}.
type createResult struct {
	ID string `json:"id"`
	*tenantJSON
	Error string `json:"error,omitempty"`
	err   error
}

// reportCreated prints each id's result (created tenants on standard
// output, failures on standard error, or all as JSON) and returns err.
func (c *cli) reportCreated(results []createResult, err error) error {
	if c.asJSON {
		for i := range results {
			if results[i].err != nil {
				results[i].Error = results[i].err.Error()
			}
		}
		if jerr := c.printJSON(results); jerr != nil {
			return jerr
		}
		return err
	}
	for _, r := range results {
		if r.err == nil {
			fmt.Fprintf(c.out, "created %s (migration version %d)\n", r.ID, r.MigrationVersion)
		} else if len(results) > 1 {
			fmt.Fprintf(c.errOut, "not created %s: %v\n", r.ID, r.err)
		}
	}
	return err
}

// createHint makes the error of creating a tenant that exists say what
// the existing one is: a dropped tenant is kept until it is purged.
func createHint(ctx context.Context, db *tenantmap.DB, id string, err error) error {
	if !errors.Is(err, tenantmap.ErrTenantExists) {
		return err
	}
	t, gerr := db.Tenants().Get(ctx, id)
	if gerr != nil || t.Status != tenantmap.StatusDropped {
		return err
	}
	when := "until it is purged"
	if !t.PurgeAfter.IsZero() {
		when = "until " + t.PurgeAfter.UTC().Format(time.RFC3339)
	}
	return fmt.Errorf("%w: %s was dropped and is retained %s; restore it with `tenants restore %s`, or free the id with `tenants purge` once that time has passed", err, id, when, id)
}
