package tenantmap

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the prepared statements of a database/sql pool (SQLite,
// MySQL), by SQL text, as pgx keeps PostgreSQL's: without it every call
// with arguments prepares its statement, runs it and closes it — on MySQL
// three messages and two round trips, on SQLite a parse and plan of the
// text each time. database/sql prepares a cached *sql.Stmt on a connection
// the first time the statement runs there, so the statements kept on the
// server (MySQL's max_prepared_stmt_count counts them) are at most the
// cache's size times the pool's connections.
//
// Beyond its size the least recently used statement is closed. A statement
// in use is closed only when its last caller has made its call (refs); rows
// it returned keep it open until they are closed, as database/sql does for
// any Stmt.
type stmtCache struct {
	db   *sql.DB
	size int

	mu   sync.Mutex
	m    map[string]*cachedStmt
	ring cachedStmt // sentinel: ring.next is the most recently used
}

type cachedStmt struct {
	stmt       *sql.Stmt
	text       string
	refs       int  // calls using stmt now
	gone       bool // evicted: closed when refs falls to 0
	prev, next *cachedStmt
}

func newStmtCache(db *sql.DB, size int) *stmtCache {
	c := &stmtCache{db: db, size: size, m: make(map[string]*cachedStmt, min(size, 1024))}
	c.ring.prev, c.ring.next = &c.ring, &c.ring
	return c
}

// acquire returns the prepared statement of text, preparing it if the
// cache has none; nil if it cannot be prepared (the caller runs the text
// unprepared, and so meets the error, if any, in its usual form). The
// caller gives it back with release once its call has returned.
func (c *stmtCache) acquire(ctx context.Context, text string) *cachedStmt {
	c.mu.Lock()
	if e := c.m[text]; e != nil {
		e.refs++
		c.unlink(e)
		c.pushFront(e)
		c.mu.Unlock()
		return e
	}
	c.mu.Unlock()

	st, err := c.db.PrepareContext(ctx, text)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	if e := c.m[text]; e != nil { // prepared meanwhile by another call
		e.refs++
		c.mu.Unlock()
		st.Close()
		return e
	}
	e := &cachedStmt{stmt: st, text: text, refs: 1}
	c.m[text] = e
	c.pushFront(e)
	var closing []*sql.Stmt
	for len(c.m) > c.size {
		old := c.ring.prev
		c.unlink(old)
		delete(c.m, old.text)
		old.gone = true
		if old.refs == 0 {
			closing = append(closing, old.stmt)
		}
	}
	c.mu.Unlock()
	for _, s := range closing {
		s.Close()
	}
	return e
}

// release gives back a statement acquire returned.
func (c *stmtCache) release(e *cachedStmt) {
	c.mu.Lock()
	e.refs--
	closeNow := e.gone && e.refs == 0
	c.mu.Unlock()
	if closeNow {
		e.stmt.Close()
	}
}

func (c *stmtCache) unlink(e *cachedStmt) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (c *stmtCache) pushFront(e *cachedStmt) {
	e.prev, e.next = &c.ring, c.ring.next
	c.ring.next.prev = e
	c.ring.next = e
}

// len is the number of statements kept.
func (c *stmtCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// close closes every statement kept; calls still running keep theirs until
// they end.
func (c *stmtCache) close() {
	c.mu.Lock()
	var closing []*sql.Stmt
	for _, e := range c.m {
		e.gone = true
		if e.refs == 0 {
			closing = append(closing, e.stmt)
		}
	}
	clear(c.m)
	c.ring.prev, c.ring.next = &c.ring, &c.ring
	c.mu.Unlock()
	for _, s := range closing {
		s.Close()
	}
}
