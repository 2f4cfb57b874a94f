module github.com/gomsgr/msgr

go 1.26.0
