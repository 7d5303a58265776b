package tenantmap

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// DefaultTenantMaxConns caps the connections open to tenants' own databases
// (DatabasePerTenant on PostgreSQL and SQLite) unless Config.TenantMaxConns
// says otherwise.
const DefaultTenantMaxConns = 20

// tenantConns holds the connections to tenants' own databases: one set for
// every database, under one cap. A call takes an idle connection to its
// database if there is one; else it opens one while fewer than max are
// open; else it closes the least recently used idle connection (of any
// database) and opens one in its place; else it waits for a connection to
// come back. So 10,000 tenants never mean 10,000 pools or more than max
// connections, and a tenant that stops calling gives its connections up to
// the ones that call.
type tenantConns struct {
	max  int
	dial func(ctx context.Context, database string) (*tenantConn, error)

	mu      sync.Mutex
	open    int                      // open or being opened
	idle    map[string][]*tenantConn // by database, most recently used last
	lru     connList                 // idle connections, least recently used first
	waiters list.List                // of chan struct{}, oldest first
	retired map[string]uint64        // by database: bumped when it is dropped (closeDatabase)
	closed  bool
	stats   struct{ dials, evictions, waits atomic.Int64 }
}

// tenantConn is one connection to one tenant database.
type tenantConn struct {
	database   string
	be         backend // over exactly one connection
	broken     func() bool
	stale      func() bool // its database was dropped by another process (SQLite: the file is not the one opened)
	generation uint64      // the database's retired count when dialled: a connection from before a drop is never reused
	prev, next *tenantConn // in lru while idle (an intrusive list: no allocation per release)
	inLRU      bool
}

func newTenantConns(max int, dial func(context.Context, string) (*tenantConn, error)) *tenantConns {
	if max <= 0 {
		max = DefaultTenantMaxConns
	}
	return &tenantConns{max: max, dial: dial, idle: map[string][]*tenantConn{}, retired: map[string]uint64{}}
}

// acquire returns a connection to database for the caller's sole use until
// release.
func (s *tenantConns) acquire(ctx context.Context, database string) (*tenantConn, error) {
	waited := false
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		if cs := s.idle[database]; len(cs) > 0 {
			c := cs[len(cs)-1]
			s.takeIdle(c)
			s.mu.Unlock()
			if c.stale != nil && c.stale() {
				s.closeAndFree([]*tenantConn{c})
				continue
			}
			return c, nil
		}
		var victim *tenantConn
		switch {
		case s.open < s.max:
			s.open++
		case s.lru.n > 0:
			victim = s.lru.head
			s.takeIdle(victim) // its slot passes to the new connection
			s.stats.evictions.Add(1)
		default:
			ch := make(chan struct{}, 1)
			e := s.waiters.PushBack(ch)
			s.mu.Unlock()
			if !waited {
				waited = true
				s.stats.waits.Add(1)
			}
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				s.mu.Lock()
				s.waiters.Remove(e)
				select {
				case <-ch: // woken as we gave up: pass the turn on
					s.wakeOne()
				default:
				}
				s.mu.Unlock()
				return nil, ctx.Err()
			}
		}
		generation := s.retired[database]
		s.mu.Unlock()
		if victim != nil {
			victim.be.close()
		}
		s.stats.dials.Add(1)
		c, err := s.dial(ctx, database)
		if c != nil {
			c.generation = generation
		}
		if err != nil {
			s.mu.Lock()
			s.open--
			s.wakeOne()
			s.mu.Unlock()
			return nil, err
		}
		return c, nil
	}
}

// connList is a doubly linked list of idle connections, least recently
// used first, linked through the connections themselves.
type connList struct {
	head, tail *tenantConn
	n          int
}

func (l *connList) pushBack(c *tenantConn) {
	c.prev, c.next, c.inLRU = l.tail, nil, true
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
	l.n++
}

func (l *connList) remove(c *tenantConn) {
	if !c.inLRU {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next, c.inLRU = nil, nil, false
	l.n--
}

// release gives a connection back: idle again, or closed if it is broken
// (or mid-transaction after an error) or the set is closed.
func (s *tenantConns) release(c *tenantConn) {
	broken := c.broken != nil && c.broken()
	s.mu.Lock()
	// A connection to a database dropped since it was dialled is closed,
	// never given to the new tenant of the same id (issue 12 item 4): on
	// SQLite it still reads the dropped file.
	if broken || s.closed || c.generation != s.retired[c.database] {
		s.mu.Unlock()
		s.closeAndFree([]*tenantConn{c})
		return
	}
	s.idle[c.database] = append(s.idle[c.database], c)
	s.lru.pushBack(c)
	s.wakeOne()
	s.mu.Unlock()
}

// takeIdle removes an idle connection from the idle sets; s.mu is held.
func (s *tenantConns) takeIdle(c *tenantConn) {
	cs := s.idle[c.database]
	for i, x := range cs {
		if x == c {
			cs = append(cs[:i], cs[i+1:]...)
			break
		}
	}
	if len(cs) == 0 {
		delete(s.idle, c.database)
	} else {
		s.idle[c.database] = cs
	}
	s.lru.remove(c)
}

// wakeOne lets the oldest waiter try again; s.mu is held.
func (s *tenantConns) wakeOne() {
	if e := s.waiters.Front(); e != nil {
		s.waiters.Remove(e)
		e.Value.(chan struct{}) <- struct{}{}
	}
}

// closeDatabase closes the idle connections to one database, before it is
// dropped, and retires those in use: they close when released.
func (s *tenantConns) closeDatabase(database string) {
	s.mu.Lock()
	s.retired[database]++
	cs := append([]*tenantConn(nil), s.idle[database]...)
	for _, c := range cs {
		s.takeIdle(c)
	}
	s.mu.Unlock()
	s.closeAndFree(cs)
}

// closeAndFree closes connections taken out of the set and only then frees
// their slots, so a replacement is never open beside one still closing.
func (s *tenantConns) closeAndFree(cs []*tenantConn) {
	for _, c := range cs {
		c.be.close()
	}
	s.mu.Lock()
	for range cs {
		s.open--
		s.wakeOne()
	}
	s.mu.Unlock()
}

// close closes every idle connection and refuses new ones; connections in
// use close when released.
func (s *tenantConns) close() {
	s.mu.Lock()
	s.closed = true
	var cs []*tenantConn
	for c := s.lru.head; c != nil; c = c.next {
		cs = append(cs, c)
	}
	for _, c := range cs {
		s.takeIdle(c)
	}
	for s.waiters.Len() > 0 {
		s.wakeOne()
	}
	s.mu.Unlock()
	s.closeAndFree(cs)
}

// TenantConnStats describes the connections to tenants' own databases.
type TenantConnStats struct {
	Max       int   // the cap (Config.TenantMaxConns)
	Open      int   // open now, in use or idle
	Idle      int   // open and idle
	Databases int   // databases with an idle connection
	Dials     int64 // connections opened
	Evictions int64 // idle connections closed to make room for another database's
	Waits     int64 // calls that waited because every connection was in use
}

func (s *tenantConns) statsNow() TenantConnStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return TenantConnStats{
		Max: s.max, Open: s.open, Idle: s.lru.n, Databases: len(s.idle),
		Dials: s.stats.dials.Load(), Evictions: s.stats.evictions.Load(), Waits: s.stats.waits.Load(),
	}
}

// TenantConnStats reports the connections to tenants' own databases (zero
// when no tenant has one).
func (db *DB) TenantConnStats() TenantConnStats {
	if db.tenantDBs == nil {
		return TenantConnStats{}
	}
	return db.tenantDBs.statsNow()
}

// tenantDB is the backend of one tenant database: each statement takes a
// connection from the set and gives it back when done (rows: when closed or
// read to the end; a transaction: when it ends).
type tenantDB struct {
	set      *tenantConns
	database string
}

func (t *tenantDB) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	c, err := t.set.acquire(ctx, t.database)
	if err != nil {
		return 0, err
	}
	defer t.set.release(c)
	return c.be.exec(ctx, sql, args...)
}

func (t *tenantDB) execLastID(ctx context.Context, sql string, args ...any) (int64, error) {
	c, err := t.set.acquire(ctx, t.database)
	if err != nil {
		return 0, err
	}
	defer t.set.release(c)
	return c.be.(lastIDExecer).execLastID(ctx, sql, args...)
}

func (t *tenantDB) query(ctx context.Context, sql string, args ...any) (rows, error) {
	c, err := t.set.acquire(ctx, t.database)
	if err != nil {
		return nil, err
	}
	r, err := c.be.query(ctx, sql, args...)
	if err != nil {
		t.set.release(c)
		return nil, err
	}
	return &releasingRows{rows: r, set: t.set, conn: c}, nil
}

func (t *tenantDB) queryRow(ctx context.Context, sql string, args ...any) row {
	c, err := t.set.acquire(ctx, t.database)
	if err != nil {
		return errRow{err}
	}
	return &releasingRow{row: c.be.queryRow(ctx, sql, args...), set: t.set, conn: c}
}

func (t *tenantDB) copyFrom(ctx context.Context, table pgx.Identifier, cols []string, src [][]any) (int64, error) {
	c, err := t.set.acquire(ctx, t.database)
	if err != nil {
		return 0, err
	}
	defer t.set.release(c)
	return c.be.(copier).copyFrom(ctx, table, cols, src)
}

func (t *tenantDB) begin(ctx context.Context) (txBackend, error) {
	c, err := t.set.acquire(ctx, t.database)
	if err != nil {
		return nil, err
	}
	tx, err := c.be.begin(ctx)
	if err != nil {
		t.set.release(c)
		return nil, err
	}
	return &releasingTx{txBackend: tx, release: func() { t.set.release(c) }}, nil
}

func (t *tenantDB) close() {}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// releasingRow gives its connection back once scanned.
type releasingRow struct {
	row  row
	set  *tenantConns
	conn *tenantConn
}

func (r *releasingRow) Scan(dest ...any) error {
	defer r.set.release(r.conn)
	return r.row.Scan(dest...)
}

// releasingRows gives its connection back when closed or read to the end.
type releasingRows struct {
	rows
	set  *tenantConns
	conn *tenantConn
	done bool
}

func (r *releasingRows) Next() bool {
	if r.rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *releasingRows) Close() {
	r.rows.Close()
	if !r.done {
		r.done = true
		r.set.release(r.conn)
	}
}

// releasingTx gives its connection back when it commits or rolls back.
type releasingTx struct {
	txBackend
	release func()
	done    bool
}

func (t *releasingTx) execScript(ctx context.Context, script string) error {
	return scriptOn(ctx, t.txBackend, script)
}

func (t *releasingTx) end(err error) error {
	if !t.done {
		t.done = true
		t.release()
	}
	return err
}

func (t *releasingTx) commit(ctx context.Context) error { return t.end(t.txBackend.commit(ctx)) }
func (t *releasingTx) rollback(ctx context.Context) error {
	return t.end(t.txBackend.rollback(ctx))
}

// copyFrom is the transaction's bulk load, where its connection has one.
func (t *releasingTx) copyFrom(ctx context.Context, table pgx.Identifier, cols []string, src [][]any) (int64, error) {
	return t.txBackend.(copier).copyFrom(ctx, table, cols, src)
}

// execLastID is the transaction's generated-key insert, where it has one.
func (t *releasingTx) execLastID(ctx context.Context, sql string, args ...any) (int64, error) {
	return t.txBackend.(lastIDExecer).execLastID(ctx, sql, args...)
}
