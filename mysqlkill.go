package tenantmap

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"
)

// MySQL's driver gives up on a statement whose context ends by closing the
// connection, but the server goes on running the statement to its end (a
// SLEEP(5) cut at 300 ms ran 4.7 s more). killConnector wraps the driver's
// connector so that each connection knows its server id (CONNECTION_ID()),
// and a statement whose context ends while it runs is stopped on the server
// with KILL QUERY sent from another connection, as PostgreSQL's cancel
// request does. A connection that a kill was sent for is never reused.
type killConnector struct {
	base driver.Connector
}

// killTimeout bounds the connection and the KILL QUERY sent for a cut
// statement.
const killTimeout = 5 * time.Second

func (k *killConnector) Driver() driver.Driver { return k.base.Driver() }

func (k *killConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := k.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	id, err := connectionID(ctx, c)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &killConn{Conn: c, k: k, id: id}, nil
}

// connectionID asks the server for the connection's id.
func connectionID(ctx context.Context, c driver.Conn) (uint64, error) {
	q, ok := c.(driver.QueryerContext)
	if !ok {
		return 0, errors.New("tenantmap: the MySQL driver's connection cannot query")
	}
	rows, err := q.QueryContext(ctx, "SELECT CONNECTION_ID()", nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil {
		if err == io.EOF {
			err = errors.New("no row")
		}
		return 0, fmt.Errorf("tenantmap: SELECT CONNECTION_ID(): %w", err)
	}
	switch x := v[0].(type) {
	case int64:
		return uint64(x), nil
	case uint64:
		return x, nil
	case []byte:
		return strconv.ParseUint(string(x), 10, 64)
	case string:
		return strconv.ParseUint(x, 10, 64)
	}
	return 0, fmt.Errorf("tenantmap: SELECT CONNECTION_ID() gave %T", v[0])
}

// kill stops the statement running on connection id, from a connection of
// its own (the pool's may all be busy).
func (k *killConnector) kill(id uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	c, err := k.base.Connect(ctx)
	if err != nil {
		return // nothing more to do: the server ends the statement itself
	}
	defer c.Close()
	if e, ok := c.(driver.ExecerContext); ok {
		_, _ = e.ExecContext(ctx, "KILL QUERY "+strconv.FormatUint(id, 10), nil)
	}
}

// killConn is one connection that stops its statement on the server when
// the statement's context ends.
type killConn struct {
	driver.Conn
	k      *killConnector
	id     uint64
	killed atomic.Bool // a kill was sent: the connection is not reused
}

// guard arranges for a kill if ctx ends before the returned stop is called.
func (c *killConn) guard(ctx context.Context) (stop func()) {
	if ctx.Done() == nil || ctx.Err() != nil {
		return func() {} // cannot end, or ended before anything was sent
	}
	done := make(chan struct{})
	unregister := context.AfterFunc(ctx, func() {
		c.killed.Store(true)
		defer close(done)
		c.k.kill(c.id)
	})
	return func() {
		if !unregister() {
			<-done // the kill is sent before the call returns
		}
	}
}

func (c *killConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	defer c.guard(ctx)()
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *killConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	defer c.guard(ctx)()
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *killConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &killStmt{Stmt: st, c: c}, nil
}

func (c *killConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *killConn) Ping(ctx context.Context) error {
	return c.Conn.(driver.Pinger).Ping(ctx)
}

func (c *killConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *killConn) ResetSession(ctx context.Context) error {
	if c.killed.Load() {
		return driver.ErrBadConn
	}
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *killConn) IsValid() bool {
	if c.killed.Load() {
		return false
	}
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// killStmt is a prepared statement of a killConn.
type killStmt struct {
	driver.Stmt
	c *killConn
}

func (s *killStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	defer s.c.guard(ctx)()
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *killStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	defer s.c.guard(ctx)()
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (s *killStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return s.c.CheckNamedValue(nv)
}
