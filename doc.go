// Package tenantmap keeps many tenants' data apart in SQL databases while the
// program's data code is written once.
//
// # Dynamic object mapping
//
// A model is a Go struct, compiled once by [Register] into a [Model]: its
// columns, key and indexes, and the field offsets used to read and write rows
// without reflection per row. For each tenant, tenantmap builds at run time a
// mapping of the model onto the tenant's physical home — chosen by the model's
// [Strategy], or for one tenant by [WithPlacement]: a table of its own
// ([TablePerTenant]), a schema of its own ([SchemaPerTenant], PostgreSQL), a
// database of its own ([DatabasePerTenant]), or its rows in a table shared
// by many tenants ([SharedTable]) — with the tenant's quoted names and its
// SQL rendered once. The [Registry] caches mappings, so the next call for that
// tenant costs a lock-free lookup.
//
// # Models defined at run time, and custom fields
//
// A model can also be defined while the program runs: [ParseModelDoc] reads a
// JSON or YAML document ([ModelSchemaJSON] is its JSON Schema), [NewModel]
// compiles it, and [RegisterModel] gives a [Table] of [Record]s with the same
// calls as a struct model's. A tenant extends a model with fields of its own
// ([Tenants.AddField], [Tenants.RenameField], [Tenants.DropField]): real
// columns of its own table, or, in a shared table, keys of one JSON column
// that leaves the other tenants untouched. A struct model holds them in an
// [Extra] field. Every write is validated against the model as the tenant
// sees it before any SQL runs ([ValidationError]).
//
// # Several processes
//
// Every change to a tenant's mapping — a custom field, a suspension, a drop,
// a migration — is recorded in the catalog's change log, and every DB drops
// the changed tenant's mappings as it learns of it: by LISTEN/NOTIFY on
// PostgreSQL, by polling the log elsewhere ([Config.Watch]). A statement
// refused because its mapping named a table or column that is gone reloads
// the mapping and runs once more, outside a transaction.
//
// # The tenant travels in the context
//
// [WithTenant] puts a tenant id in a context; every [Table] call made with it
// works on that tenant's rows only. [Table.For] names a tenant explicitly. A
// call with neither fails with [ErrNoTenant]; it never falls back to all
// tenants or a default one.
//
// # Stateless routing
//
// Every statement names its tenant's objects itself, quoted by the dialect and
// schema-qualified, and in a shared table filters on the tenant column.
// tenantmap never runs SET search_path or USE on a pooled connection, so no
// session state can carry one tenant's context into another tenant's request
// through a pool, a proxy or a prepared-statement cache. The one setting it
// does use, for PostgreSQL row-level security, is sent with each statement
// and lasts one transaction.
// Values always travel as bind parameters; identifiers never come from
// run-time input without validation and quoting.
//
// Statements are prepared once and kept: by pgx on PostgreSQL (with
// tenant-affine connections, on unless [Config.DisableTenantAffinity],
// giving each tenant home connections, so each
// server process prepares the statements of a part of the tenants), and by
// tenantmap's own cache of database/sql statements on SQLite and MySQL
// ([Config.StatementCacheSize]). A prepared statement names one tenant's
// tables, so keeping it carries no tenant from one call to another.
//
// # Tenants
//
// [DB.Tenants] creates, lists and drops tenants. The catalog, control tables
// created when a DB is opened with [Config].CreateCatalog (without it Open
// changes nothing and a database without a catalog is [ErrNoCatalog]),
// records each tenant, the key its physical
// names are built from, every table, schema and database it owns, and where
// each of its models lives. [Tenants.Create] provisions every registered
// model's tables in one transaction (where DDL commits at once — MySQL, or
// CREATE DATABASE — it undoes what it made on failure). A call never
// uses a physical name the catalog records as another tenant's
// ([ErrNameConflict]), and [Tenants.Drop] removes only what is recorded as the
// tenant's own.
//
// # Migrations
//
// A model's struct is its latest shape: Create makes a new tenant's tables
// from it and records the latest migration's version. [DB.SetMigrations]
// gives the versions between: [AddColumn], [DropColumn], [RenameColumn],
// [AddIndex], [DropIndex], [CreateTable] and [AlterColumnType] render for
// each tenant's placement on each dialect; [SQL] and [Func] run the
// program's own statements and code in the tenant's migration transaction.
// [DB.Migrate] brings tenants to a version with bounded parallelism: each
// tenant in one transaction where DDL is transactional (PostgreSQL,
// SQLite), step by step with each step recorded where it is not (MySQL),
// under a lock per tenant, so two runners share the work and a run cut
// short is finished by the next. A shared table is migrated once. A run
// with nothing to do reads the catalog once. [DB.Drift] compares each
// tenant's live schema with its models.
//
// # Lifecycle
//
// [Tenants.Suspend] stops a tenant's calls ([ErrTenantSuspended]) until
// [Tenants.Resume]; [Tenants.Drop] with [Retain] keeps a dropped tenant's
// data until [Tenants.Purge], and [Tenants.Restore] brings it back before
// then. [Tenants.Export] writes one tenant's rows to a portable JSON-lines
// file, [Tenants.Import] makes a tenant from one, and [Tenants.Clone]
// streams one tenant into a new one. The tenantctl package and command
// do all of this from a shell.
//
// # Errors
//
// Every error wraps a sentinel ([ErrNotFound], [ErrTenantNotFound],
// [ErrInvalidTenantID], …) or a driver error, inside an [*Error] that names
// the operation, the tenant and the model. [ErrNotFound] also matches
// [database/sql.ErrNoRows] and [github.com/jackc/pgx/v5.ErrNoRows].
// [ErrDuplicateKey] and [ErrForeignKey] match a broken unique or foreign
// key on every database.
//
// # Retrying
//
// Every error of [DB.InTx] — its BEGIN, its COMMIT, and the calls fn makes —
// is an [*Error]. errors.Is(err, [ErrRetryable]) says the failure may pass
// on a new attempt and left nothing behind: a lost connection, a server
// shutting down or restarting, a serialization failure, a deadlock, a lock
// wait timeout, a busy SQLite database. What is safe to retry:
//
//   - A whole [DB.InTx] that failed with [ErrRetryable]: its transaction was
//     rolled back, so run InTx again (fn from its start; never retry one
//     statement inside a transaction, whose earlier statements are gone).
//   - A single call outside InTx (Get, Find, Count, Insert, Update, Delete,
//     Exec, …) that failed with [ErrRetryable]: each runs as one statement,
//     which the server either ran to the end or not at all.
//   - Not a commit that failed with [ErrCommitUnknown]: the connection was
//     lost while COMMIT was in flight, so the transaction may have
//     committed. Run it again only if doing its work twice is harmless
//     (an upsert, an update to fixed values), or read back first whether
//     its writes are there. ErrCommitUnknown does not match ErrRetryable.
//   - Nor a call that failed because its context ended
//     ([context.DeadlineExceeded], [context.Canceled]): it is not
//     ErrRetryable; a write may or may not have happened.
package tenantmap
