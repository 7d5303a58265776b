package tenantmap

import (
	"context"
	"fmt"
)

// Rows is the result of DB.Query. Close it, or read it to the end.
type Rows struct{ r rows }

// Next advances to the next row.
func (r *Rows) Next() bool { return r.r.Next() }

// Scan copies the current row's columns into dest.
func (r *Rows) Scan(dest ...any) error { return r.r.Scan(dest...) }

// Err returns the error that ended the iteration, if any.
func (r *Rows) Err() error { return r.r.Err() }

// Close releases the rows' connection.
func (r *Rows) Close() { r.r.Close() }

// Exec runs a raw statement for the context's tenant. {name} stands for the
// tenant's table of the model named name, quoted and schema-qualified; ?
// stands for each argument, which always travels as a bind parameter (??
// for a literal ?). Only one statement is allowed. It returns the number of
// rows affected.
//
//	db.Exec(ctx, "UPDATE {case} SET status = ? WHERE priority > ?", "closed", 3)
func (db *DB) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	id, q, stmt, args, err := db.raw(ctx, sql, args)
	if err != nil {
		return 0, opError("exec", id, "", err)
	}
	n, err := q.exec(ctx, stmt, args...)
	return n, opError("exec", id, "", err)
}

// Query runs a raw query for the context's tenant; see Exec for its syntax.
func (db *DB) Query(ctx context.Context, sql string, args ...any) (*Rows, error) {
	id, q, stmt, args, err := db.raw(ctx, sql, args)
	if err != nil {
		return nil, opError("query", id, "", err)
	}
	r, err := q.query(ctx, stmt, args...)
	if err != nil {
		return nil, opError("query", id, "", err)
	}
	return &Rows{r: r}, nil
}

// QueryRow runs a raw query expected to return one row and scans it into
// dest; no row is ErrNotFound.
func (db *DB) QueryRow(ctx context.Context, dest []any, sql string, args ...any) error {
	id, q, stmt, args, err := db.raw(ctx, sql, args)
	if err != nil {
		return opError("query", id, "", err)
	}
	err = q.queryRow(ctx, stmt, args...).Scan(dest...)
	if isNoRows(err) {
		err = fmt.Errorf("%w: the query returned no row", ErrNotFound)
	}
	return opError("query", id, "", err)
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
	var q querier
	if tx := txFrom(ctx, db); tx != nil {
		if tx.tenant != id {
			return id, nil, "", nil, ErrTenantMismatch
		}
		q = tx.be
	} else {
		q = db.backendFor(id)
	}
	b := make([]byte, 0, len(sql)+32)
	args := make([]any, 0, len(in))
	used := 0
	semicolon := false
	_, err = scanSQL(sql, db.dialect.Syntax(), func(tok sqlToken) error {
		if semicolon && (tok.kind != tokText || trimSpace(tok.text) != "") {
			return fmt.Errorf("%w: one statement at a time", ErrInvalidQuery)
		}
		switch tok.kind {
		case tokPlaceholder:
			if used >= len(in) {
				return fmt.Errorf("%w: more ? than the %d values given", ErrInvalidQuery, len(in))
			}
			args = append(args, in[used])
			used++
			b = db.dialect.AppendPlaceholder(b, len(args))
		case tokSemicolon:
			semicolon = true
		case tokTable:
			bd := db.bindingNamed(tok.text)
			if bd == nil {
				return fmt.Errorf("%w: {%s} names no registered model", ErrInvalidQuery, tok.text)
			}
			mp, err := db.mapping(ctx, bd, id)
			if err != nil {
				return err
			}
			b = append(b, mp.qtable...)
		default:
			b = append(b, tok.text...)
		}
		return nil
	})
	if err == nil && used != len(in) {
		err = fmt.Errorf("%w: %d ? for %d values", ErrInvalidQuery, used, len(in))
	}
	return id, q, string(b), args, err
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\n' || s[0] == '\t' || s[0] == '\r') {
		s = s[1:]
	}
	return s
}
