package tenantmap

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tenantmap/tenantmap/dialect"
)

// TenantToken is the token a name template replaces with the tenant's key.
const TenantToken = "{tenant}"

// ModelToken is the token a table name template (TablePerTenant,
// SharedTable) replaces with the model's name, so that one template can
// place every model: TablePerTenant("{tenant}_{model}"), or
// `tenantctl tenants create --placement table:t_{tenant}_{model}`.
const ModelToken = "{model}"

type strategyKind uint8

const (
	tablePerTenant strategyKind = iota + 1
	schemaPerTenant
	databasePerTenant
	sharedTable
)

// TenantColumn is the column SharedTable adds to a model: the tenant's id,
// part of the primary key and of every index, stamped on every insert and
// filtered in every statement tenantmap builds.
const TenantColumn = "tenant_id"

// strategyNames are the strategies' names in the catalog's placement records.
var strategyNames = [...]string{tablePerTenant: "table", schemaPerTenant: "schema", databasePerTenant: "database", sharedTable: "shared"}

func kindNamed(name string) strategyKind {
	for k, n := range strategyNames {
		if n == name && n != "" {
			return strategyKind(k)
		}
	}
	return 0
}

// Strategy is how a model's data is kept apart per tenant. Build one with
// TablePerTenant, SchemaPerTenant, DatabasePerTenant or SharedTable.
type Strategy struct {
	kind     strategyKind
	template string
}

// TablePerTenant keeps each tenant's rows in a table of its own, named by
// template, which must contain {tenant} once: TablePerTenant("{tenant}_case")
// puts tenant acme's rows in acme_case. An empty template means
// "{tenant}_" + the model's name. On PostgreSQL the tables live in the
// schema Config.Schema names (public by default), always schema-qualified.
func TablePerTenant(template string) Strategy {
	return Strategy{kind: tablePerTenant, template: template}
}

// SchemaPerTenant keeps each tenant's tables in a schema of its own, named
// by template ("" means "{tenant}"); each table is named after its model.
// PostgreSQL only.
func SchemaPerTenant(template string) Strategy {
	return Strategy{kind: schemaPerTenant, template: template}
}

// DatabasePerTenant keeps each tenant's tables in a database of its own,
// named by template ("" means "{tenant}"); each table is named after its
// model.
//
// On MySQL and MariaDB, where a "schema" is a database, the tenant's
// databases are reached by qualified names (`acme`.`case`) over the DB's
// pool. On PostgreSQL each tenant gets a database made with CREATE
// DATABASE (the role needs CREATEDB), its tables in its public schema; on
// SQLite a file, template + ".db", under Config.TenantDir. Both are reached
// on connections of their own, opened when a call needs one and shared by
// all tenants under one cap, Config.TenantMaxConns: an idle connection to
// one tenant's database is closed to make room for another's, least
// recently used first. A tenant has at most one database of its own.
func DatabasePerTenant(template string) Strategy {
	return Strategy{kind: databasePerTenant, template: template}
}

// SharedTable keeps every tenant's rows in one table, named name ("" means
// the model's name), with a column TenantColumn that tenantmap adds to the
// model. The tenant column leads the primary key and every index, so a
// tenant's rows are found together and a caller-set key is unique within a
// tenant only. Every statement tenantmap builds filters on it, every insert
// stamps it, and raw statements that name a shared table must carry the
// {tenant} filter (see DB.Exec). On PostgreSQL, Config.RowLevelSecurity adds
// a row-level security policy as a second wall. Generated integer keys come
// from one sequence per table, so they are unique across tenants too; on
// SQLite, which generates keys only for a lone INTEGER PRIMARY KEY, the key
// alone is the primary key and (tenant, key) a unique index. The table is
// made by the first Create that needs it; dropping a tenant deletes its rows.
func SharedTable(name string) Strategy {
	return Strategy{kind: sharedTable, template: name}
}

// namespaced reports whether the strategy gives each tenant a namespace of
// its own (a schema or a database) holding tables named after their models.
func (s Strategy) namespaced() bool { return s.kind == schemaPerTenant || s.kind == databasePerTenant }

func (s Strategy) String() string {
	switch s.kind {
	case tablePerTenant:
		return "TablePerTenant(" + s.template + ")"
	case schemaPerTenant:
		return "SchemaPerTenant(" + s.template + ")"
	case databasePerTenant:
		return "DatabasePerTenant(" + s.template + ")"
	case sharedTable:
		return "SharedTable(" + s.template + ")"
	}
	return "Strategy(invalid)"
}

// encode names s for the catalog: its kind and template, as decodeStrategy
// reads them back.
func (s Strategy) encode() string { return strategyNames[s.kind] + ":" + s.template }

// decodeStrategy reads a strategy that encode wrote.
func decodeStrategy(text string) (Strategy, bool) {
	kind, template, ok := strings.Cut(text, ":")
	if !ok || kindNamed(kind) == 0 {
		return Strategy{}, false
	}
	return Strategy{kind: kindNamed(kind), template: template}, true
}

// resolve fills the default template and checks s against the model and
// the dialect.
func (s Strategy) resolve(m *Model, d dialect.Dialect) (Strategy, error) {
	if strings.Contains(s.template, ModelToken) {
		if s.namespaced() {
			return s, fmt.Errorf("%w: %s names a tenant's schema or database, one for all its models: it cannot contain %s", ErrInvalidModel, s, ModelToken)
		}
		s.template = strings.ReplaceAll(s.template, ModelToken, m.name)
	}
	switch s.kind {
	case tablePerTenant:
		if s.template == "" {
			s.template = TenantToken + "_" + m.name
		}
	case schemaPerTenant:
		if d.Features()&dialect.Schemas == 0 {
			if d.Features()&dialect.Databases != 0 {
				return s, fmt.Errorf("%w: SchemaPerTenant needs a database with schemas; on %s a schema is a database: use DatabasePerTenant", ErrInvalidModel, d.Name())
			}
			return s, fmt.Errorf("%w: SchemaPerTenant needs a database with schemas; %s has none: use DatabasePerTenant or TablePerTenant", ErrInvalidModel, d.Name())
		}
		if s.template == "" {
			s.template = TenantToken
		}
	case databasePerTenant:
		if s.template == "" {
			s.template = TenantToken
		}
	case sharedTable:
		if s.template == "" {
			s.template = m.name
		}
		if !validName(s.template, d.MaxIdentifierLength()) {
			return s, fmt.Errorf("%w: shared table name %q: use a-z, 0-9 and _, at most %d bytes, no %s", ErrInvalidModel, s.template, d.MaxIdentifierLength(), TenantToken)
		}
		if d.ReservedPrefix(s.template) {
			return s, fmt.Errorf("%w: shared table name %q begins with a prefix %s reserves", ErrInvalidModel, s.template, d.Name())
		}
		if isCatalogTable(s.template) {
			return s, fmt.Errorf("%w: shared table name %q is a catalog table's", ErrInvalidModel, s.template)
		}
		if f := m.byCol[TenantColumn]; f != nil {
			return s, fmt.Errorf("%w: field %s: column %q is the tenant column SharedTable adds; rename the field's column", ErrInvalidModel, f.goName, TenantColumn)
		}
		return s, nil
	default:
		return s, fmt.Errorf("%w: no strategy (use TablePerTenant, SchemaPerTenant, DatabasePerTenant or SharedTable)", ErrInvalidModel)
	}
	if strings.Count(s.template, TenantToken) != 1 {
		return s, fmt.Errorf("%w: name template %q must contain %s exactly once", ErrInvalidModel, s.template, TenantToken)
	}
	if head, _, _ := strings.Cut(s.template, TenantToken); head != "" && d.ReservedPrefix(head) {
		return s, fmt.Errorf("%w: name template %q begins with a prefix %s reserves", ErrInvalidModel, s.template, d.Name())
	}
	static := strings.Replace(s.template, TenantToken, "", 1)
	if len(static) > 40 {
		return s, fmt.Errorf("%w: name template %q: at most 40 bytes besides %s", ErrInvalidModel, s.template, TenantToken)
	}
	for i := 0; i < len(static); i++ {
		c := static[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return s, fmt.Errorf("%w: name template %q: use a-z, 0-9 and _ around %s", ErrInvalidModel, s.template, TenantToken)
		}
	}
	return s, nil
}

// staticLen is the template's length without the token; 0 for a shared
// table, whose name does not hold the tenant's key.
func (s Strategy) staticLen() int {
	if s.kind == sharedTable {
		return 0
	}
	return len(s.template) - len(TenantToken)
}

// physical returns the unquoted schema ("" for none) and table names of a
// tenant whose key is key.
func (s Strategy) physical(key, modelName, defaultSchema string, limit int) (schema, table string) {
	if s.kind == sharedTable {
		return defaultSchema, s.template
	}
	name := fitIdent(strings.Replace(s.template, TenantToken, key, 1), limit)
	if s.namespaced() {
		return name, modelName
	}
	return defaultSchema, name
}

// fitIdent shortens a name longer than limit deterministically: a prefix,
// '_', and 10 hex digits of the whole name's SHA-256.
func fitIdent(name string, limit int) string {
	if len(name) <= limit {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:limit-11] + "_" + hex.EncodeToString(sum[:5])
}

// tenantKey is the key that stands for the tenant id in physical names: the
// id itself, or, when the longest name a registered model would give it
// passes the server's limit, a deterministic shortened form. It is recorded
// in the catalog when the tenant is created.
func tenantKey(id string, longestStatic, limit int) string {
	room := limit - longestStatic
	if len(id) <= room {
		return id
	}
	return fitIdent(id, room)
}
