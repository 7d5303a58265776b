package tenantmap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tenantmap/tenantmap/dialect"
)

// Keeping every process's registry fresh.
//
// Every change to a tenant's mapping bumps its catalog row's version
// (a migration, a custom field, a suspension, a restore) or removes the row
// (a drop). A trigger on the catalog's tenant table turns each such change
// into a row of the change log (ChangeTable) and, on PostgreSQL, a
// notification on the catalog's channel, sent when the change commits; on
// MySQL the statements that change a tenant write the log themselves. Each
// DB watches one or the other and drops the changed tenant's mappings.

// ChangeTable is the catalog's change log: one row per change to a tenant.
const ChangeTable = "tenantmap_change"

// WatchMode is how a DB learns of the changes other processes make to
// tenants.
type WatchMode uint8

const (
	// WatchAuto listens (WatchListen) on PostgreSQL reached directly, and
	// polls (WatchPoll) elsewhere: on SQLite, MySQL, and PostgreSQL behind a
	// TransactionPooler, where LISTEN does not work.
	WatchAuto WatchMode = iota
	// WatchListen uses PostgreSQL's LISTEN on a connection of its own.
	WatchListen
	// WatchPoll reads the change log every PollInterval.
	WatchPoll
	// WatchOff does not watch: for a DB that is the only process using
	// its catalog.
	WatchOff
)

// DefaultPollInterval is how often WatchPoll reads the change log unless
// Config.PollInterval says otherwise.
const DefaultPollInterval = 100 * time.Millisecond

// changeLogKeep is how many of the latest changes the log keeps; a watcher
// that falls further behind drops every mapping.
const changeLogKeep = 10_000

// gapWait is how long a poller waits for a change whose sequence number was
// handed out but not yet committed (MySQL commits out of order, and a
// PostgreSQL migration logs its tenant's change when it begins); after
// that, or past maxGaps awaited at once, it drops every mapping, since a
// change may have been missed.
//
// A migration on PostgreSQL logs its tenant's change when its transaction
// begins (its first statement claims the tenant), so a step longer than
// gapWait expires its gap, every mapping is dropped, and mappings rebuilt
// meanwhile are not dropped again at its commit. That is harmless: a
// mapping is built from the process's own model and the tenant's
// placement, and a migration changes neither. Every other change is logged
// by the statement just before its commit.
const (
	gapWait   = 30 * time.Second
	maxGaps   = 1000
	startBack = 100 // how far back a new watcher starts reading the log
	// listenPoll is how often a listener reads the log anyway, so that it
	// keeps up with the log between migrations' announcements.
	listenPoll = 10 * time.Second
)

// notifyChannel is the PostgreSQL channel of a catalog in schema; a schema
// name too long for a channel (63 bytes) is replaced by its hash.
func notifyChannel(schema string) string {
	if c := "tenantmap:" + schema; len(c) <= 63 {
		return c
	}
	sum := sha256.Sum256([]byte(schema))
	return "tenantmap:" + hex.EncodeToString(sum[:16])
}

// renderChangeLog renders the statements that read, prune and (MySQL)
// write the change log.
func (c *catalog) renderChangeLog() {
	d := c.d
	seq := dialect.Quote(d, "seq")
	log := qualifiedIdent(d, c.schema, ChangeTable)
	c.changesSQL = "SELECT " + seq + "," + dialect.Quote(d, "tenant_id") + " FROM " + log + " WHERE " + seq + ">" + string(d.AppendPlaceholder(nil, 1))
	c.changesOrder = " ORDER BY " + seq
	c.pruneSQL = "DELETE FROM " + log + " WHERE " + seq + "<=" + string(d.AppendPlaceholder(nil, 1))
	c.lastChangeSQL = "SELECT COALESCE(MAX(" + seq + "), 0) FROM " + log
	if d.Name() == "mysql" {
		c.logSQL = "INSERT INTO " + log + " (" + dialect.Quote(d, "tenant_id") + ") VALUES (?)"
	}
}

// changeDDL renders the change log and the triggers that fill it.
func (c *catalog) changeDDL() []string {
	d := c.d
	q := func(name string) string { return dialect.Quote(d, name) }
	log := qualifiedIdent(d, c.schema, ChangeTable)
	t := qualifiedIdent(d, c.schema, CatalogTable)
	stmts := []string{"CREATE TABLE IF NOT EXISTS " + log + " (" +
		q("seq") + " " + d.ColumnType(dialect.Column{Name: "seq", Kind: dialect.Int64, AutoPK: true}) + ", " +
		q("tenant_id") + " " + d.ColumnType(dialect.Column{Name: "tenant_id", Kind: dialect.String, Size: MaxTenantIDLength}) + " NOT NULL)"}
	insert := func(row string) string {
		return "INSERT INTO " + log + " (" + q("tenant_id") + ") VALUES (" + row + "." + q("id") + ")"
	}
	switch d.Name() {
	case "postgres":
		fn := qualifiedIdent(d, c.schema, "tenantmap_changed")
		channel := string(d.AppendString(nil, notifyChannel(c.schema)))
		stmts = append(stmts,
			"CREATE OR REPLACE FUNCTION "+fn+"() RETURNS trigger LANGUAGE plpgsql AS $tm$ BEGIN "+
				"IF TG_OP = 'DELETE' THEN "+insert("OLD")+"; PERFORM pg_notify("+channel+", OLD."+q("id")+"); RETURN OLD; END IF; "+
				"IF NEW."+q("version")+" <> OLD."+q("version")+" THEN "+insert("NEW")+"; "+
				// A migration's commits are not made to notify one by one:
				// a notifying commit takes a lock every other one waits for.
				// Migrate tells listeners to read the log instead (announce).
				"IF NEW."+q("schema_version")+" = OLD."+q("schema_version")+" AND NEW."+q("migration_step")+" = OLD."+q("migration_step")+
				" THEN PERFORM pg_notify("+channel+", NEW."+q("id")+"); END IF; END IF; "+
				"RETURN NEW; END $tm$",
			"CREATE OR REPLACE TRIGGER "+q("tenantmap_changed")+" AFTER UPDATE OR DELETE ON "+t+" FOR EACH ROW EXECUTE FUNCTION "+fn+"()")
	case "mysql":
		// No trigger: MySQL's need privileges (TRIGGER, and SUPER where
		// binary logging is on) an application's user often lacks. The
		// statements that change a tenant log it themselves (logged).
	default:
		stmts = append(stmts,
			"CREATE TRIGGER IF NOT EXISTS "+q("tenantmap_changed")+" AFTER UPDATE OF "+q("version")+" ON "+q(CatalogTable)+
				" WHEN NEW."+q("version")+" <> OLD."+q("version")+" BEGIN "+insert("NEW")+"; END",
			"CREATE TRIGGER IF NOT EXISTS "+q("tenantmap_dropped")+" AFTER DELETE ON "+q(CatalogTable)+" BEGIN "+insert("OLD")+"; END")
	}
	return stmts
}

// announceEvery is how often a migration on PostgreSQL tells listeners to
// read the change log.
const announceEvery = 100 * time.Millisecond

// announce tells PostgreSQL listeners to read the change log, every
// announceEvery until the returned function is called, and once more then:
// Migrate's changes are logged, not notified one by one.
func (db *DB) announce(ctx context.Context) (stop func()) {
	if db.dialect.Name() != "postgres" {
		return func() {}
	}
	ctx = context.WithoutCancel(ctx)
	stmt := "SELECT pg_notify(" + string(db.dialect.AppendString(nil, notifyChannel(db.cfg.Schema))) + ", '')"
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(announceEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				_, _ = db.be.exec(ctx, stmt)
				return
			case <-t.C:
				_, _ = db.be.exec(ctx, stmt)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// logged records a change to tenant id in the change log where no trigger
// does (MySQL), on q: in the change's own transaction where it has one. It
// passes err through, and logs nothing after one.
func (c *catalog) logged(ctx context.Context, q querier, id string, err error) error {
	if err != nil || c.logSQL == "" {
		return err
	}
	_, err = q.exec(ctx, c.logSQL, id)
	return err
}

// hasChangeLog reports whether the catalog has its change log and
// triggers already, so that opening a DB takes no DDL lock on the tenant
// table in the common case.
func (c *catalog) hasChangeLog(ctx context.Context, q querier) (bool, error) {
	var stmt string
	var args []any
	switch c.d.Name() {
	case "postgres":
		stmt = "SELECT COUNT(*) FROM pg_trigger WHERE tgname = 'tenantmap_changed' AND tgrelid = to_regclass($1)"
		args = []any{qualifiedIdent(c.d, c.schema, CatalogTable)}
	case "mysql":
		stmt = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '" + ChangeTable + "'"
	default:
		stmt = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'tenantmap_dropped'"
	}
	var n int
	if err := q.queryRow(ctx, stmt, args...).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}

// watcher keeps the registry fresh as other processes change tenants.
type watcher struct {
	db     *DB
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	last   int64               // the highest change read
	gaps   map[int64]time.Time // sequence numbers skipped, awaited until then
	polls  int
	seen   uint64 // changes applied, for WatchStats
	resets uint64 // times every mapping was dropped for want of the log
}

// WatchStats are a DB's counters of changes learnt from other processes.
type WatchStats struct {
	Mode    WatchMode // the mode in effect (never WatchAuto)
	Changes uint64    // changes applied: a tenant's mappings dropped
	Resets  uint64    // times every mapping was dropped: a lost listening connection, a change log read too late
}

// WatchStats returns the DB's watch counters.
func (db *DB) WatchStats() WatchStats {
	w := db.watch
	if w == nil {
		return WatchStats{Mode: WatchOff}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return WatchStats{Mode: db.watchMode, Changes: w.seen, Resets: w.resets}
}

// startWatch starts watching as cfg says. LISTEN is in effect when it
// returns: a change committed after Open is never missed.
func (db *DB) startWatch(ctx context.Context) error {
	mode := db.cfg.Watch
	if mode == WatchAuto {
		mode = WatchPoll
		switch {
		case db.dialect.Name() == "postgres" && !db.cfg.TransactionPooler && db.pgConnConfig != nil:
			mode = WatchListen
		case db.cfg.Driver == "sqlite" && strings.HasPrefix(db.cfg.DSN, ":memory:"):
			mode = WatchOff // no other process can open it
		}
	}
	if mode == WatchListen && (db.dialect.Name() != "postgres" || db.pgConnConfig == nil) {
		return fmt.Errorf("%w: WatchListen needs PostgreSQL", ErrInvalidURL)
	}
	db.watchMode = mode
	if mode == WatchOff {
		return nil
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &watcher{db: db, cancel: cancel, done: make(chan struct{}), gaps: map[int64]time.Time{}}
	if err := db.be.queryRow(ctx, db.cat.lastChangeSQL).Scan(&w.last); err != nil {
		cancel()
		return err
	}
	// Changes logged just before, not yet committed (MySQL commits out of
	// order): read again from a little way back. The registry is empty, so
	// applying what was committed already costs nothing.
	w.last = max(0, w.last-startBack)
	switch mode {
	case WatchListen:
		conn, err := w.listen(ctx)
		if err != nil {
			cancel()
			return err
		}
		go w.listenLoop(wctx, conn)
	case WatchPoll:
		go w.pollLoop(wctx)
	}
	db.watch = w
	return nil
}

func (w *watcher) stop() {
	w.cancel()
	<-w.done
}

// listen opens the listening connection.
func (w *watcher) listen(ctx context.Context) (*pgx.Conn, error) {
	cc := w.db.pgConnConfig.Copy()
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+dialect.Quote(w.db.dialect, notifyChannel(w.db.cfg.Schema))); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

func (w *watcher) listenLoop(ctx context.Context, conn *pgx.Conn) {
	defer close(w.done)
	backoff := 50 * time.Millisecond
	for {
		for {
			wctx, stop := context.WithTimeout(ctx, listenPoll)
			n, err := conn.WaitForNotification(wctx)
			stop()
			if err != nil && ctx.Err() == nil && wctx.Err() != nil && !conn.IsClosed() {
				n, err = &pgconn.Notification{}, nil // no notification for a while: read the log
			}
			if err != nil {
				break
			}
			backoff = 50 * time.Millisecond
			if n.Payload == "" { // a migration's changes: read them from the log
				if err := w.poll(ctx); err != nil && ctx.Err() == nil {
					w.reset()
				}
				continue
			}
			w.apply(n.Payload)
		}
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		// Notifications sent while no connection listened are lost: once
		// listening again, drop every mapping.
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			var err error
			if conn, err = w.listen(ctx); err == nil {
				break
			}
		}
		w.reset()
	}
}

func (w *watcher) apply(tenant string) {
	w.db.reg.InvalidateTenant(tenant)
	w.mu.Lock()
	w.seen++
	w.mu.Unlock()
}

func (w *watcher) reset() {
	w.db.reg.InvalidateAll()
	w.mu.Lock()
	w.resets++
	w.mu.Unlock()
}

func (w *watcher) pollLoop(ctx context.Context) {
	defer close(w.done)
	every := w.db.cfg.PollInterval
	if every <= 0 {
		every = DefaultPollInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.poll(ctx); err != nil && ctx.Err() == nil {
			// The log could not be read: what changed meanwhile is unknown.
			w.reset()
		}
	}
}

// poll reads the changes after the last one read, and the ones skipped
// earlier that may have committed since.
func (w *watcher) poll(ctx context.Context) error {
	db := w.db
	w.mu.Lock()
	last := w.last
	var gaps []string
	now := time.Now()
	lost := false // a change awaited too long: rolled back, or committed unseen
	for seq, until := range w.gaps {
		if now.After(until) {
			delete(w.gaps, seq)
			lost = true
			continue
		}
		gaps = append(gaps, strconv.FormatInt(seq, 10))
	}
	w.polls++
	prune := w.polls%100 == 0
	w.mu.Unlock()
	c := db.cat
	stmt := c.changesSQL + c.changesOrder
	if len(gaps) > 0 {
		stmt = c.changesSQL + " OR " + dialect.Quote(db.dialect, "seq") + " IN (" + strings.Join(gaps, ",") + ")" + c.changesOrder
	}
	r, err := db.be.query(ctx, stmt, last)
	if err != nil {
		return err
	}
	type change struct {
		seq    int64
		tenant string
	}
	var changes []change
	for r.Next() {
		var c change
		if err := r.Scan(&c.seq, &c.tenant); err != nil {
			r.Close()
			return err
		}
		changes = append(changes, c)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	next := w.last
	for _, c := range changes {
		delete(w.gaps, c.seq)
		if c.seq > next {
			for s := next + 1; s < c.seq; s++ {
				if len(w.gaps) >= maxGaps {
					lost = true
					break
				}
				w.gaps[s] = now.Add(gapWait)
			}
			next = c.seq
		}
	}
	// Changes after last may have been pruned from the log already: the
	// log keeps changeLogKeep, and pruning keeps that many before the
	// newest change any poller has read, which is at most next.
	lost = lost || next-last > changeLogKeep
	w.last = next
	if lost {
		clear(w.gaps)
	}
	w.mu.Unlock()
	if lost {
		w.reset()
	} else {
		for _, c := range changes {
			w.apply(c.tenant)
		}
	}
	if prune && next > changeLogKeep {
		if _, err := db.be.exec(ctx, c.pruneSQL, next-changeLogKeep); err != nil {
			return err
		}
	}
	return nil
}
