package report

// CSVCell neutralises a CSV cell of text from the evidence as the
// timeline's cells are (a leading ' before a formula's first character),
// for the other commands that write CSV.
func CSVCell(s string) string { return cell(s) }
