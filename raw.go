package tenantmap

import (
	"context"
	"fmt"
	"strings"
)

// Rows is the result of DB.Query. Close it, or read it to the end.
type Rows struct {
	id string
	r  rows
}

// Next advances to the next row.
func (r *Rows) Next() bool { return r.r.Next() }

// Scan copies the current row's columns into dest.
func (r *Rows) Scan(dest ...any) error { return r.r.Scan(dest...) }

// Err returns the error that ended the iteration, if any.
func (r *Rows) Err() error { return opError("query", r.id, "", invalidStatement(r.r.Err())) }

// Close releases the rows' connection.
func (r *Rows) Close() { r.r.Close() }

// Exec runs a raw statement for the context's tenant. {name} stands for the
// tenant's table of the model named name, quoted and schema-qualified; ?
// stands for each argument, which always travels as a bind parameter (??
// for a literal ?). Only one statement is allowed. It returns the number of
// rows affected.
//
// {tenant} is the tenant filter: where the statement names a shared table
// (SharedTable) it becomes tenant_id = the tenant, as a bind parameter, and
// elsewhere a condition that is always true, so one statement serves
// tenants of every placement. {c.tenant} qualifies the column by an alias
// or table name, for joins. A statement that names a shared table without
// any {tenant} is refused with ErrInvalidQuery. Write the filter into every
// part of the statement that reads a shared table: tenantmap checks that it
// is there, not where (with Config.RowLevelSecurity, PostgreSQL enforces it
// as well).
//
// The statement runs where its tables are; one that names no model runs in
// the tenant's own database if it has one (DatabasePerTenant on PostgreSQL
// and SQLite), else in the DB's. Tables in two databases cannot be joined.
// Like every call for a tenant, a raw statement, whether or not it names a
// model, is refused for a tenant that does not exist or was dropped
// (ErrTenantNotFound) or is suspended (ErrTenantSuspended).
//
// A statement the database refuses for its text (a syntax error, an
// unknown column or function) is ErrInvalidQuery, with the driver's error
// wrapped inside.
//
//	db.Exec(ctx, "UPDATE {case} SET status = ? WHERE priority > ? AND {tenant}", "closed", 3)
func (db *DB) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	id, q, stmt, args, err := db.raw(ctx, sql, args)
	if err != nil {
		return 0, opError("exec", id, "", err)
	}
	n, err := q.exec(ctx, stmt, args...)
	return n, opError("exec", id, "", invalidStatement(err))
}

// Query runs a raw query for the context's tenant; see Exec for its syntax.
func (db *DB) Query(ctx context.Context, sql string, args ...any) (*Rows, error) {
	id, q, stmt, args, err := db.raw(ctx, sql, args)
	if err != nil {
		return nil, opError("query", id, "", err)
	}
	r, err := q.query(ctx, stmt, args...)
	if err != nil {
		return nil, opError("query", id, "", invalidStatement(err))
	}
	return &Rows{id: id, r: r}, nil
}

// Row is the result of DB.QueryRow; Scan reads its one row.
type Row struct {
	id  string
	r   row
	err error
}

// Scan copies the row's columns into dest. A query that returned no row is
// ErrNotFound (which also matches sql.ErrNoRows and pgx.ErrNoRows); any
// error of the query itself is reported here.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	err := r.r.Scan(dest...)
	if isNoRows(err) {
		err = fmt.Errorf("%w: the query returned no row", ErrNotFound)
	}
	return opError("query", r.id, "", invalidStatement(err))
}

// QueryRow runs a raw query expected to return one row, as database/sql's
// and pgx's QueryRow do; see Exec for its syntax. Errors are deferred to
// Row.Scan.
//
//	var n int64
//	err := db.QueryRow(ctx, "SELECT count(*) FROM {case} WHERE {tenant}").Scan(&n)
func (db *DB) QueryRow(ctx context.Context, sql string, args ...any) *Row {
	id, q, stmt, args, err := db.raw(ctx, sql, args)
	if err != nil {
		return &Row{id: id, err: opError("query", id, "", err)}
	}
	return &Row{id: id, r: q.queryRow(ctx, stmt, args...)}
}

// raw resolves the tenant, the connection and the statement's table tokens.
func (db *DB) raw(ctx context.Context, sql string, in []any) (string, querier, string, []any, error) {
	id, err := tenantOf(ctx, "")
	if err != nil {
		return "", nil, "", nil, err
	}
	if err := ValidateTenantID(id); err != nil {
		return id, nil, "", nil, err
	}
	tx := txFrom(ctx, db)
	if tx != nil && tx.tenant != id {
		return id, nil, "", nil, ErrTenantMismatch
	}
	// Two passes: the {tenant} filter renders according to whether the
	// statement names a shared table, wherever the two tokens are.
	var toks []sqlToken
	semicolon, tenantFilters := false, 0
	_, err = scanSQL(sql, db.dialect.Syntax(), func(tok sqlToken) error {
		if semicolon && (tok.kind != tokText || trimSpace(tok.text) != "") {
			return fmt.Errorf("%w: one statement at a time", ErrInvalidQuery)
		}
		if tok.kind == tokSemicolon {
			semicolon = true
		}
		if tok.kind == tokTable && tenantFilterAlias(tok.text) != "-" {
			tenantFilters++
		}
		toks = append(toks, tok)
		return nil
	})
	if err != nil {
		return id, nil, "", nil, err
	}
	mappings := make([]*mapping, len(toks))
	var shared, placed *mapping // placed: a mapping that says which database the statement runs on
	ownText := false            // a table named has SQL text of the tenant's own
	for i, tok := range toks {
		if tok.kind != tokTable || tenantFilterAlias(tok.text) != "-" {
			continue
		}
		bd := db.bindingNamed(tok.text)
		if bd == nil {
			return id, nil, "", nil, fmt.Errorf("%w: {%s} names no registered model", ErrInvalidQuery, tok.text)
		}
		if mappings[i], err = db.mappingFor(ctx, tx, bd, id); err != nil {
			return id, nil, "", nil, err
		}
		if mappings[i].shared {
			shared = mappings[i]
		} else {
			ownText = true
		}
		if placed != nil && placed.database != mappings[i].database {
			return id, nil, "", nil, fmt.Errorf("%w: tenant %q's %s and %s are in different databases; one statement cannot join them", ErrInvalidQuery, id, placed.model.name, mappings[i].model.name)
		}
		placed = mappings[i]
	}
	// The statement runs where its tables are; one that names none runs in
	// the tenant's own database if it has one, else in the DB's. Either way
	// the tenant must be one that calls may use: each mapping above was
	// built only for an active tenant, and so is the home looked up here
	// (from the registry, so a cached tenant costs no round trip). A
	// tenant that does not exist, was dropped or is suspended is refused,
	// as for every table call.
	var database string
	if placed != nil {
		database = placed.database
	} else if tx != nil && tx.mig != nil {
		database = tx.database
	} else if database, err = db.homeDatabase(ctx, id); err != nil {
		return id, nil, "", nil, err
	}
	var q querier
	switch {
	case tx != nil && tx.database != database:
		return id, nil, "", nil, fmt.Errorf("%w: the statement's tables are in another database than tenant %q's transaction", ErrInvalidQuery, id)
	case tx != nil:
		q = tx.be
	case shared != nil && !ownText && database == "":
		q = db.sharedBackend(id) // the same text for every tenant
	default:
		q = db.backendFor(id, database)
	}
	if shared != nil && tenantFilters == 0 {
		return id, q, "", nil, fmt.Errorf("%w: the statement names the shared table of %s but not the {tenant} filter: add WHERE {tenant} (or {alias.tenant} for an alias), which keeps it to the tenant's rows", ErrInvalidQuery, shared.model.name)
	}
	b := make([]byte, 0, len(sql)+32)
	args := make([]any, 0, len(in)+tenantFilters)
	used := 0
	for i, tok := range toks {
		switch tok.kind {
		case tokSemicolon: // a trailing ; is left out: the statement is one either way
		case tokPlaceholder:
			if used >= len(in) {
				return id, q, "", nil, fmt.Errorf("%w: more ? than the %d values given", ErrInvalidQuery, len(in))
			}
			args = append(args, in[used])
			used++
			b = db.dialect.AppendPlaceholder(b, len(args))
		case tokTable:
			if mappings[i] != nil {
				b = append(b, mappings[i].qtable...)
				break
			}
			// {tenant}: the tenant column equals the tenant where the
			// statement has a shared table; else always true, so one
			// statement serves every placement.
			if shared == nil {
				b = append(b, "1=1"...)
				break
			}
			if alias := tenantFilterAlias(tok.text); alias != "" {
				b = append(db.dialect.AppendIdent(b, alias), '.')
			}
			b = db.dialect.AppendIdent(b, TenantColumn)
			b = append(b, '=')
			args = append(args, id)
			b = db.dialect.AppendPlaceholder(b, len(args))
		default:
			b = append(b, tok.text...)
		}
	}
	if used != len(in) {
		return id, q, "", nil, fmt.Errorf("%w: %d ? for %d values", ErrInvalidQuery, used, len(in))
	}
	return id, q, string(b), args, nil
}

// tenantFilterAlias returns, for a {tenant} token's text, "" ({tenant}) or
// the alias it qualifies ({c.tenant}); "-" for any other token.
func tenantFilterAlias(text string) string {
	if text == "tenant" {
		return ""
	}
	if alias, ok := strings.CutSuffix(text, ".tenant"); ok && validName(alias, maxNameLength) {
		return alias
	}
	return "-"
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\n' || s[0] == '\t' || s[0] == '\r') {
		s = s[1:]
	}
	return s
}
