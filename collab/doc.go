// Package collab is bpfdraft's server: the HTTP API and pages, and the
// storage behind them (package store and its backends).
package collab
