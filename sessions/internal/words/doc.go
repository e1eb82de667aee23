// Package words holds the few phrasing helpers the rooms that make text
// share.
package words
