package tenantmap

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SQLite refuses a statement with SQLITE_BUSY when another connection or
// process holds the lock past busy_timeout (two Migrate runners, a writer
// beside Create), and with SQLITE_SCHEMA ("database schema has changed")
// when a prepared statement's tables changed under it and the driver's own
// re-prepare lost the race. Neither says anything about the call, so a
// call outside a transaction waits and tries again, with backoff, while its
// context allows (at most sqliteRetryLimit without a deadline); after
// SQLITE_SCHEMA it runs its text, which the driver prepares afresh,
// instead of the cached statement.

// sqliteRetryLimit bounds the retries of a call whose context has no
// deadline.
const sqliteRetryLimit = time.Minute

// sqliteTransient reports whether err is SQLite's SQLITE_BUSY (any extended
// code) or SQLITE_SCHEMA.
func sqliteTransient(err error) (busy, schema bool) {
	var coded interface{ Code() int }
	if err == nil || !errors.As(err, &coded) {
		return false, false
	}
	switch coded.Code() & 0xff {
	case 5: // SQLITE_BUSY
		return true, false
	case 17: // SQLITE_SCHEMA
		return false, true
	}
	return false, false
}

// retrySQLite runs f until it succeeds, fails otherwise than busy or
// schema-changed, or ctx (or sqliteRetryLimit) ends; f is told whether it
// may use a cached prepared statement.
func retrySQLite[T any](ctx context.Context, on bool, f func(cached bool) (T, error)) (T, error) {
	v, err := f(true)
	if !on || err == nil {
		return v, err
	}
	cached := true
	backoff := time.Millisecond
	limit := time.Now().Add(sqliteRetryLimit)
	for {
		busy, schema := sqliteTransient(err)
		if !busy && !schema {
			return v, err
		}
		if schema {
			cached = false
		}
		if time.Now().After(limit) {
			return v, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, err
		case <-t.C:
		}
		backoff = min(2*backoff, 50*time.Millisecond)
		if v, err = f(cached); err == nil {
			return v, nil
		}
	}
}

// rowsRow is one row read through rows, which a busy statement's retry
// needs (a *sql.Row's error shows only at Scan, too late to run again).
type rowsRow struct {
	r   *sql.Rows
	err error
}

func (r rowsRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.r.Close()
	if !r.r.Next() {
		if err := r.r.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.r.Scan(dest...); err != nil {
		return err
	}
	return r.r.Close()
}
