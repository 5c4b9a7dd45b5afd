package store

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mattn/go-sqlite3"
)

// Dialect is the SQL engine behind a *sql.DB.
type Dialect int

// The dialects Open returns.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

// DialectOf tells which engine db talks to, from its driver: the handle
// Open returns carries its dialect without a type of its own, so every
// caller keeps passing a plain *sql.DB.
func DialectOf(db *sql.DB) (Dialect, error) {
	switch db.Driver().(type) {
	case *sqlite3.SQLiteDriver:
		return SQLite, nil
	case *stdlib.Driver:
		return Postgres, nil
	}
	return 0, fmt.Errorf("store: unknown database driver %T", db.Driver())
}

// Rebind turns a query written with ? placeholders into the dialect's:
// unchanged for SQLite, $1, $2, … for PostgreSQL. A ? inside a string
// literal, a quoted identifier or a comment is left alone. Components
// write ? (what the SQLite code always used) so their SQLite queries stay
// byte for byte what they were; PostgreSQL's jsonb ? operators are then
// unavailable (use jsonb_exists and friends).
func (d Dialect) Rebind(query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		case c == '\'' || c == '"':
			// Copy through the closing quote; a doubled quote is an
			// escaped one and keeps the literal open.
			end := i + 1
			for end < len(query) {
				if query[end] == c {
					if end+1 < len(query) && query[end+1] == c {
						end += 2
						continue
					}
					break
				}
				end++
			}
			end = min(end+1, len(query))
			b.WriteString(query[i:end])
			i = end - 1
			continue
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
			continue
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				end = len(query) - i
			} else {
				end += 4
			}
			b.WriteString(query[i : i+end])
			i += end - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
