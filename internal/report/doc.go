// Package report renders the Result of a hunt: a summary and detection list
// for a person on a terminal (Terminal), a timeline of every detection for
// Timeline Explorer or Timesketch (Timeline, as CSV or JSON lines), and the
// whole Result as one JSON document (JSON). The HTML report is in the html
// subpackage. The ATT&CK look-ups and attribution of `spoor attack` and
// `spoor attribute` are written here too (Group, Technique, Attribution).
//
// Writers take a *result.Result and an io.Writer and do nothing else: they
// never change the Result.
package report
