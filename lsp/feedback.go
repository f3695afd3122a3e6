package lsp

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Feedback: which suggestions were shown, partly accepted or accepted.
// Clients report them with Copilot's textDocument/didShowCompletion and
// textDocument/didPartiallyAcceptCompletion, our ghostline/didAccept
// notification, or by running the ghostline.didAccept command attached to
// every item. The events are appended to a local JSONL file for tuning
// (acceptance rate per language, per length) and never sent anywhere.

// DefaultFeedbackPath is $XDG_STATE_HOME/ghostline/feedback.jsonl, or
// ~/.local/state/ghostline/feedback.jsonl when XDG_STATE_HOME is unset (the
// XDG Base Directory default). It returns "" if no home directory is known.
func DefaultFeedbackPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" || !filepath.IsAbs(dir) { // the spec says to ignore relative paths
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "ghostline", "feedback.jsonl")
}

// FeedbackRecord is one line of the feedback log.
type FeedbackRecord struct {
	Time       time.Time `json:"time"`
	Event      string    `json:"event"` // "shown", "partial", "accepted"
	ID         string    `json:"id,omitempty"`
	URI        string    `json:"uri,omitempty"`
	LanguageID string    `json:"languageId,omitempty"`
	Text       string    `json:"text,omitempty"`
	// AcceptedLength (partial accepts): how much of the item's insertText
	// is in the document, in UTF-16 code units, as the clients send it.
	AcceptedLength *int `json:"acceptedLength,omitempty"`
}

type feedbackLog struct {
	path string
	mu   sync.Mutex
	f    *os.File
	err  error // set once opening failed; we stop trying
}

func (l *feedbackLog) write(rec FeedbackRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return nil // reported once already
	}
	if l.f == nil {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
			l.err = err
			return fmt.Errorf("feedback log: %w", err)
		}
		f, err := os.OpenFile(l.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			l.err = err
			return fmt.Errorf("feedback log: %w", err)
		}
		l.f = f
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = l.f.Write(append(b, '\n'))
	return err
}

func (l *feedbackLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// itemInfo is what we remember of an item we sent, to complete feedback
// records that only carry the item's id.
type itemInfo struct {
	URI, LanguageID, Text string
}

// itemRegistry maps recent item ids to their info. It keeps the last
// itemMemory items: feedback arrives within seconds of an item being sent.
type itemRegistry struct {
	mu    sync.Mutex
	next  uint64
	byID  map[string]itemInfo
	order []string
}

const itemMemory = 1024

func (r *itemRegistry) add(info itemInfo) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	id := itemID(r.next)
	if r.byID == nil {
		r.byID = map[string]itemInfo{}
	}
	r.byID[id] = info
	r.order = append(r.order, id)
	if len(r.order) > itemMemory {
		delete(r.byID, r.order[0])
		r.order = r.order[1:]
	}
	return id
}

func (r *itemRegistry) get(id string) (itemInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	info, ok := r.byID[id]
	return info, ok
}

// feedbackParams covers the three notifications: Copilot's carry the item
// (whose command arguments hold our id), ours may carry just the id.
type feedbackParams struct {
	Item           *InlineCompletionItem `json:"item"`
	AcceptedLength *int                  `json:"acceptedLength"`
	ID             string                `json:"id"`
}

func (p feedbackParams) itemID() string {
	if p.ID != "" {
		return p.ID
	}
	if p.Item != nil && p.Item.Command != nil && len(p.Item.Command.Arguments) > 0 {
		if s, ok := p.Item.Command.Arguments[0].(string); ok {
			return s
		}
	}
	return ""
}

func (s *Server) feedbackNotification(event string, raw json.RawMessage) {
	var p feedbackParams
	if err := json.Unmarshal(raw, &p); err != nil {
		s.log.Warn("bad feedback notification", "event", event, "err", err)
		return
	}
	length := -1
	if p.AcceptedLength != nil {
		length = *p.AcceptedLength
	}
	s.recordFeedback(event, p.itemID(), p.Item, length)
}

func (s *Server) didShowCompletion(raw json.RawMessage) { s.feedbackNotification("shown", raw) }
func (s *Server) didPartiallyAcceptCompletion(raw json.RawMessage) {
	s.feedbackNotification("partial", raw)
}
func (s *Server) didAccept(raw json.RawMessage) { s.feedbackNotification("accepted", raw) }

// recordFeedback appends one record; acceptedLength < 0 means none.
func (s *Server) recordFeedback(event, id string, item *InlineCompletionItem, acceptedLength int) {
	rec := FeedbackRecord{Time: time.Now().UTC(), Event: event, ID: id}
	if info, ok := s.items.get(id); ok {
		rec.URI, rec.LanguageID, rec.Text = info.URI, info.LanguageID, info.Text
	} else if item != nil {
		rec.Text = item.InsertText.Plain()
	}
	if acceptedLength >= 0 {
		rec.AcceptedLength = &acceptedLength
	}
	s.log.Debug("feedback", "event", event, "id", id)
	if s.feedback == nil {
		return
	}
	if err := s.feedback.write(rec); err != nil {
		s.log.Warn("feedback log disabled", "err", err)
	}
}
