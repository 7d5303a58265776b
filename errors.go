package tenantmap

import (
	"database/sql"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Sentinel errors. Callers branch on them with errors.Is; every error the
// package returns wraps one of them or a driver error.
var (
	// ErrNoTenant: the call named no tenant, neither in its context nor explicitly.
	ErrNoTenant = errors.New("tenantmap: no tenant in context")
	// ErrInvalidTenantID: a tenant id does not match the documented pattern.
	ErrInvalidTenantID = errors.New("tenantmap: invalid tenant id")
	// ErrTenantNotFound: the catalog has no such tenant.
	ErrTenantNotFound = errors.New("tenantmap: tenant not found")
	// ErrTenantSuspended: the tenant is suspended (Tenants.Suspend); calls
	// for it fail until Tenants.Resume.
	ErrTenantSuspended = errors.New("tenantmap: tenant suspended")
	// ErrTenantExists: Create named a tenant the catalog already has.
	ErrTenantExists = errors.New("tenantmap: tenant already exists")
	// ErrTenantMismatch: a call named one tenant explicitly while its context
	// (or its transaction) belongs to another.
	ErrTenantMismatch = errors.New("tenantmap: tenant mismatch")
	// ErrDropNotConfirmed: Drop was called without ConfirmDrop naming the same tenant.
	ErrDropNotConfirmed = errors.New("tenantmap: drop not confirmed")
	// ErrInvalidModel: a struct cannot be compiled into a model.
	ErrInvalidModel = errors.New("tenantmap: invalid model")
	// ErrInvalidRecord: a write was refused before any SQL ran; the error
	// is a *ValidationError naming each field's problem.
	ErrInvalidRecord = errors.New("tenantmap: invalid record")
	// ErrInvalidField: a custom field cannot be added, renamed or dropped.
	ErrInvalidField = errors.New("tenantmap: invalid custom field")
	// ErrInvalidQuery: a query, raw statement or column list is malformed.
	ErrInvalidQuery = errors.New("tenantmap: invalid query")
	// ErrInvalidKey: a key passed to Get or Delete is not of the model's
	// key type (an integer for a generated key, a string for a string or
	// UUID key), or is out of its range; no SQL ran.
	ErrInvalidKey = errors.New("tenantmap: invalid key")
	// ErrNotFound: no row has the key, or no row matched. It also matches
	// sql.ErrNoRows and pgx.ErrNoRows.
	ErrNotFound error = notFound{}
	// ErrNameConflict: a tenant's physical name (a table or a schema) is
	// already another tenant's, or the catalog's. Nothing is created, and a
	// call that would use such a name is refused rather than reach data that
	// is not its tenant's.
	ErrNameConflict = errors.New("tenantmap: physical name already in use")
	// ErrClosed: the DB has been closed.
	ErrClosed = errors.New("tenantmap: database closed")
)

type notFound struct{}

func (notFound) Error() string { return "tenantmap: not found" }

// Is makes errors.Is(ErrNotFound, sql.ErrNoRows) and errors.Is(ErrNotFound,
// pgx.ErrNoRows) true, so code written for database/sql or pgx keeps
// working.
func (notFound) Is(target error) bool { return target == sql.ErrNoRows || target == pgx.ErrNoRows }

// Error is the error of an operation on one tenant: it names the operation,
// the tenant and, where there is one, the model, and wraps the cause.
type Error struct {
	Op     string // "get", "insert", "create tenant", …
	Tenant string // the tenant id; empty when the call named none
	Model  string // the model's name, if any
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("tenantmap: ")
	b.WriteString(e.Op)
	if e.Model != "" {
		b.WriteString(" ")
		b.WriteString(e.Model)
	}
	if e.Tenant != "" {
		b.WriteString(" (tenant ")
		b.WriteString(e.Tenant)
		b.WriteString(")")
	}
	b.WriteString(": ")
	// One prefix: a cause wrapped inside the cause ("placement for model
	// case: tenantmap: invalid model: …") loses its own.
	b.WriteString(strings.ReplaceAll(strings.TrimPrefix(e.Err.Error(), "tenantmap: "), ": tenantmap: ", ": "))
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func opError(op, tenant, model string, err error) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) && te.Op == op {
		return err
	}
	return &Error{Op: op, Tenant: tenant, Model: model, Err: fenceError(err)}
}
