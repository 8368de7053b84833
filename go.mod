module github.com/spoor-hunt/spoor

go 1.26
