package tenantmap

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/tenantmap/tenantmap/dialect"
)

// Conflict says what Upsert does when the row it inserts has the same key,
// or the same values in a unique index, as a row the tenant already has.
// Make one with OnConflict, then choose DoNothing or DoUpdate.
//
// The conflict is always over the tenant's own rows: on a shared table the
// tenant column is part of the target (and of every unique index), so an
// upsert never reaches, let alone updates, another tenant's row.
type Conflict struct {
	target []string
	update []string
	action conflictAction
}

type conflictAction uint8

const (
	conflictUnset conflictAction = iota
	conflictNothing
	conflictUpdate
)

// OnConflict names the conflict target: the columns of the model's key
// (none named), or exactly the columns of one of its unique indexes. A
// generated key cannot be a target (the insert does not send it): name a
// unique index. On MySQL and MariaDB the server does not limit the clause to
// the target (ON DUPLICATE KEY fires on any unique index); the target is
// checked all the same.
func OnConflict(columns ...string) Conflict {
	return Conflict{target: slices.Clone(columns)}
}

// DoNothing leaves the existing row as it is.
func (c Conflict) DoNothing() Conflict {
	c.action, c.update = conflictNothing, nil
	return c
}

// DoUpdate sets the named columns of the existing row to the values of the
// record Upsert was given; with none named, every column but the key and
// the target's.
func (c Conflict) DoUpdate(columns ...string) Conflict {
	c.action, c.update = conflictUpdate, slices.Clone(columns)
	return c
}

// Upsert inserts v, or, if the tenant has a row that conflicts with it
// (c's target), does what c says. It reports whether a row was written:
// false only when DoNothing left an existing row in place. A generated key
// is written into v when v was inserted, and with DoUpdate when the
// existing row was updated (its key). Defaults apply as in Insert.
func (t *Table[T]) Upsert(ctx context.Context, v *T, c Conflict) (bool, error) {
	for try := 0; ; try++ {
		mp, q, err := t.target(ctx)
		if err != nil {
			return false, t.fail("upsert", ctx, err)
		}
		stmt, args, err := t.upsertSQL(mp, unsafe.Pointer(v), c)
		if err != nil {
			return false, t.fail("upsert", ctx, err)
		}
		stored, err := t.runUpsert(ctx, mp, q, unsafe.Pointer(v), c, stmt, args)
		if t.retryStale(ctx, mp, try, err) {
			continue
		}
		return stored, t.fail("upsert", ctx, err)
	}
}

func (t *Table[T]) upsertSQL(mp *mapping, base unsafe.Pointer, c Conflict) (string, []any, error) {
	d := t.db.dialect
	up, ok := d.(dialect.Upserter)
	if !ok {
		return "", nil, fmt.Errorf("%w: the %s dialect has no upsert (it does not implement dialect.Upserter)", ErrInvalidQuery, d.Name())
	}
	m := mp.model
	if c.action == conflictUnset {
		return "", nil, fmt.Errorf("%w: the Conflict says neither DoNothing nor DoUpdate; write OnConflict(…).DoNothing() or .DoUpdate(columns…)", ErrInvalidQuery)
	}
	target, err := conflictTarget(m, c.target)
	if err != nil {
		return "", nil, err
	}
	var set []*field
	if c.action == conflictUpdate {
		if set, err = upsertColumns(m, target, c.update); err != nil {
			return "", nil, err
		}
	}
	if err := checkKey(m, base); err != nil {
		return "", nil, err
	}
	if err := m.validate(base, true, nil); err != nil {
		return "", nil, err
	}
	args, err := insertArgs(m, base, nil)
	if err != nil {
		return "", nil, err
	}
	if mp.shared {
		args = append(args, mp.tenant)
	}
	b := append(make([]byte, 0, len(mp.insertHead)+128), mp.insertHead...)
	b = append(b, " VALUES ("...)
	b = appendPlaceholders(b, d, 1, len(args))
	b = append(b, ')')
	qtarget := make([]string, 0, len(target)+1)
	if mp.shared {
		qtarget = append(qtarget, dialect.Quote(d, TenantColumn))
	}
	for _, f := range target {
		qtarget = append(qtarget, dialect.Quote(d, f.column))
	}
	qkey := dialect.Quote(d, m.pk.column)
	if c.action == conflictNothing {
		b = up.AppendOnConflictNothing(b, qtarget, qkey)
	} else {
		autoKey := ""
		if m.pk.auto {
			autoKey = qkey
		}
		b = up.AppendOnConflictUpdate(b, qtarget, autoKey)
		if b, args, err = appendUpsertAssignments(b, d, up, mp.qtable, set, base, args); err != nil {
			return "", nil, err
		}
	}
	if m.pk.auto && up.ConflictTargetEnforced() && d.Features()&dialect.Returning != 0 {
		b = append(b, " RETURNING "...)
		b = d.AppendIdent(b, m.pk.column)
	}
	return string(b), args, nil
}

// appendUpsertAssignments appends col = <the inserted value> for each of
// set. A shared table's custom fields named one by one are set inside their
// JSON column from an object of their values bound after args (the
// inserted object holds every field the mapping knows), keeping the keys
// they do not name.
func appendUpsertAssignments(b []byte, d dialect.Dialect, up dialect.Upserter, qtable string, set []*field, base unsafe.Pointer, args []any) ([]byte, []any, error) {
	// The existing row's value of a column: qualified by the table where
	// EXCLUDED is also in scope (PostgreSQL finds a bare name ambiguous).
	existing := func(col string) string {
		if up.ConflictTargetEnforced() {
			return qtable + "." + col
		}
		return col
	}
	n := 0
	var members []*field
	for _, f := range set {
		if f.in != nil {
			members = append(members, f)
			continue
		}
		if n > 0 {
			b = append(b, ", "...)
		}
		n++
		col := dialect.Quote(d, f.column)
		b = append(b, col...)
		b = append(b, " = "...)
		if f.packed != nil {
			b = d.AppendJSONSet(b, existing(col), packedKeys(f.packed), func(b []byte) []byte { return up.AppendInserted(b, col) })
		} else {
			b = up.AppendInserted(b, col)
		}
	}
	if len(members) > 0 {
		in := members[0].in
		obj, err := packFields(in, members, members[0].values(base))
		if err != nil {
			return nil, nil, err
		}
		if n > 0 {
			b = append(b, ", "...)
		}
		col := dialect.Quote(d, in.column)
		b = append(b, col...)
		b = append(b, " = "...)
		b = d.AppendJSONSet(b, existing(col), packedKeys(members), func(b []byte) []byte {
			args = append(args, obj)
			return d.AppendPlaceholder(b, len(args))
		})
	}
	return b, args, nil
}

// runUpsert runs the statement and writes a generated key back into the
// record.
func (t *Table[T]) runUpsert(ctx context.Context, mp *mapping, q querier, base unsafe.Pointer, c Conflict, stmt string, args []any) (bool, error) {
	m := mp.model
	switch {
	case !t.db.dialect.(dialect.Upserter).ConflictTargetEnforced():
		// MySQL's ON DUPLICATE KEY: the rows affected count a row found as
		// one (CLIENT_FOUND_ROWS); DoNothing's clause marks a row left in
		// place with insert id -1, DoUpdate's makes it the updated row's key.
		re, ok := q.(interface {
			execResult(ctx context.Context, query string, args []any) (sql.Result, error)
		})
		if !ok {
			return false, fmt.Errorf("%w: this connection reports no insert id for an upsert", ErrInvalidQuery)
		}
		res, err := re.execResult(ctx, stmt, args)
		if err != nil {
			return false, err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return false, err
		}
		if id == -1 && c.action == conflictNothing {
			return false, nil
		}
		if m.pk.auto && id > 0 {
			setInt(m.pk, base, id)
		}
		return true, nil
	case !m.pk.auto:
		n, err := q.exec(ctx, stmt, args...)
		return err == nil && (n > 0 || c.action == conflictUpdate), err
	default:
		var id int64
		err := q.queryRow(ctx, stmt, args...).Scan(&id)
		if isNoRows(err) && c.action == conflictNothing {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		setInt(m.pk, base, id)
		return true, nil
	}
}

// conflictTarget checks that cols are the model's key or exactly the
// columns of one of its unique indexes, and returns their fields.
func conflictTarget(m *Model, cols []string) ([]*field, error) {
	if len(cols) == 0 {
		if m.pk.auto {
			return nil, fmt.Errorf("%w: %s's key %s is generated, so an insert never conflicts over it; name a unique index's columns in OnConflict, or use Update",
				ErrInvalidQuery, m.name, m.pk.column)
		}
		return []*field{m.pk}, nil
	}
	var fields []*field
	for i, c := range cols {
		f := m.byCol[c]
		if f == nil || slices.Contains(cols[:i], c) {
			return nil, fmt.Errorf("%w: OnConflict(%s): %q is not a column of %s, or is named twice", ErrInvalidQuery, strings.Join(cols, ", "), c, m.name)
		}
		fields = append(fields, f)
	}
	if len(fields) == 1 && fields[0].pk {
		if m.pk.auto {
			return conflictTarget(m, nil)
		}
		return fields, nil
	}
	var choices []string
	if !m.pk.auto {
		choices = append(choices, "("+m.pk.column+")")
	}
	for _, ix := range m.indexes {
		if !ix.unique {
			continue
		}
		names := make([]string, len(ix.cols))
		for i, f := range ix.cols {
			names[i] = f.column
		}
		if len(ix.cols) == len(fields) && !slices.ContainsFunc(fields, func(f *field) bool { return !slices.Contains(ix.cols, f) }) {
			return fields, nil
		}
		choices = append(choices, "("+strings.Join(names, ", ")+")")
	}
	return nil, fmt.Errorf("%w: OnConflict(%s): not the key or a unique index of %s; the targets are %s",
		ErrInvalidQuery, strings.Join(cols, ", "), m.name, strings.Join(choices, ", "))
}

// upsertColumns returns the fields DoUpdate sets: the named ones, or every
// one but the key and the target's.
func upsertColumns(m *Model, target []*field, cols []string) ([]*field, error) {
	var set []*field
	if len(cols) == 0 {
		for _, f := range m.fields {
			if !f.pk && !slices.Contains(target, f) {
				set = append(set, f)
			}
		}
		if len(set) == 0 {
			return nil, fmt.Errorf("%w: %s has no column to update besides its key and the conflict target; use DoNothing", ErrInvalidQuery, m.name)
		}
		return set, nil
	}
	for i, c := range cols {
		f := m.byCol[c]
		if f == nil || f.pk || f.packed != nil || slices.Contains(cols[:i], c) {
			return nil, fmt.Errorf("%w: DoUpdate: %q is not an updatable column of %s, or is named twice", ErrInvalidQuery, c, m.name)
		}
		set = append(set, f)
	}
	return set, nil
}

// UpdateWhere sets the named columns of every row of the tenant that q's
// filters select to v's values, and returns how many rows it changed. The
// tenant filter stays: a filter cannot reach another tenant's rows. q must
// have a filter (Where("1=1") for every row of the tenant), and no order,
// limit or offset.
func (t *Table[T]) UpdateWhere(ctx context.Context, q Query, v *T, columns ...string) (int64, error) {
	for try := 0; ; try++ {
		mp, conn, err := t.target(ctx)
		if err != nil {
			return 0, t.fail("update where", ctx, err)
		}
		stmt, args, err := t.updateWhereSQL(mp, q, unsafe.Pointer(v), columns)
		if err != nil {
			return 0, t.fail("update where", ctx, err)
		}
		n, err := conn.exec(ctx, stmt, args...)
		if t.retryStale(ctx, mp, try, err) {
			continue
		}
		return n, t.fail("update where", ctx, err)
	}
}

func (t *Table[T]) updateWhereSQL(mp *mapping, q Query, base unsafe.Pointer, columns []string) (string, []any, error) {
	m, d := mp.model, t.db.dialect
	if len(columns) == 0 {
		return "", nil, fmt.Errorf("%w: no columns to update", ErrInvalidQuery)
	}
	if err := checkFilterOnly(q); err != nil {
		return "", nil, err
	}
	fields := make([]*field, 0, len(columns))
	for i, c := range columns {
		f := m.byCol[c]
		if f == nil || f.pk || f.packed != nil || slices.Contains(columns[:i], c) {
			return "", nil, fmt.Errorf("%w: %q is not an updatable column of %s, or is named twice", ErrInvalidQuery, c, m.name)
		}
		fields = append(fields, f)
	}
	if err := m.validate(base, false, fields); err != nil {
		return "", nil, err
	}
	b := append(make([]byte, 0, 128), "UPDATE "...)
	b = append(b, mp.qtable...)
	b = append(b, " SET "...)
	var args []any
	var members []*field
	for _, f := range fields {
		if f.in != nil {
			members = append(members, f)
			continue
		}
		a, err := f.arg(base)
		if err != nil {
			return "", nil, err
		}
		args = append(args, a)
		if len(args) > 1 {
			b = append(b, ", "...)
		}
		b = d.AppendIdent(b, f.column)
		b = append(b, " = "...)
		b = d.AppendPlaceholder(b, len(args))
	}
	if len(members) > 0 {
		in := members[0].in
		obj, err := packFields(in, members, members[0].values(base))
		if err != nil {
			return "", nil, err
		}
		if len(args) > 0 {
			b = append(b, ", "...)
		}
		col := dialect.Quote(d, in.column)
		b = append(b, col...)
		b = append(b, " = "...)
		b = d.AppendJSONSet(b, col, packedKeys(members), func(b []byte) []byte {
			args = append(args, obj)
			return d.AppendPlaceholder(b, len(args))
		})
	}
	b, args, err := appendFilter(b, d, mp, q, args)
	if err != nil {
		return "", nil, err
	}
	return string(b), args, nil
}

// DeleteWhere deletes every row of the tenant that q's filters select, and
// returns how many. The tenant filter stays: a filter cannot reach another
// tenant's rows. q must have a filter (Where("1=1") for every row of the
// tenant), and no order, limit or offset.
func (t *Table[T]) DeleteWhere(ctx context.Context, q Query) (int64, error) {
	for try := 0; ; try++ {
		mp, conn, err := t.target(ctx)
		if err != nil {
			return 0, t.fail("delete where", ctx, err)
		}
		if err := checkFilterOnly(q); err != nil {
			return 0, t.fail("delete where", ctx, err)
		}
		b := append(make([]byte, 0, 128), "DELETE FROM "...)
		b = append(b, mp.qtable...)
		b, args, err := appendFilter(b, t.db.dialect, mp, q, nil)
		if err != nil {
			return 0, t.fail("delete where", ctx, err)
		}
		n, err := conn.exec(ctx, string(b), args...)
		if t.retryStale(ctx, mp, try, err) {
			continue
		}
		return n, t.fail("delete where", ctx, err)
	}
}

// checkFilterOnly refuses a Query for UpdateWhere or DeleteWhere that has no
// filter (a forgotten Where would change every row) or that has an order,
// limit or offset (PostgreSQL and SQLite's default build have none for
// UPDATE and DELETE).
func checkFilterOnly(q Query) error {
	if len(q.where) == 0 {
		return fmt.Errorf("%w: no filter; to change every row of the tenant, say so with Where(\"1=1\")", ErrInvalidQuery)
	}
	if len(q.order) > 0 || q.hasLim || q.offset != 0 {
		return fmt.Errorf("%w: UpdateWhere and DeleteWhere take filters only, not OrderBy, Limit or Offset", ErrInvalidQuery)
	}
	return nil
}

// appendFilter appends WHERE with the shared table's tenant filter first and
// q's filters after it, each in parentheses (a fragment cannot close them:
// rebind refuses unbalanced parentheses), numbering placeholders after args.
func appendFilter(b []byte, d dialect.Dialect, mp *mapping, q Query, args []any) ([]byte, []any, error) {
	b = append(b, " WHERE "...)
	if mp.shared {
		args = append(args, mp.tenant)
		b = d.AppendIdent(b, TenantColumn)
		b = append(b, " = "...)
		b = d.AppendPlaceholder(b, len(args))
		b = append(b, " AND "...)
	}
	for i, c := range q.where {
		if i > 0 {
			b = append(b, " AND "...)
		}
		b = append(b, '(')
		var err error
		if b, args, err = rebind(b, d, c.sql, c.args, args); err != nil {
			return nil, nil, err
		}
		b = append(b, ')')
	}
	return b, args, nil
}
