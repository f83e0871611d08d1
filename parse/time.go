package parse

import "time"

// TimeOf reads a record time from a "YYYY-MM-DD" date and an
// "hh:mm:ss[.fffffff][Z|±hh:mm]" clock, the shapes IIS and Exchange write.
// A missing zone means UTC. It never allocates and rejects impossible
// dates (2023-02-30) and years before 1970 (no IIS or Exchange log is
// older; year 0000 or 0001 would collide with the zero time.Time), so that
// a garbage row cannot become a file's first or last time. The result is
// in UTC.
func TimeOf[T string | []byte](date, clock T) (time.Time, bool) {
	if len(date) != 10 || date[4] != '-' || date[7] != '-' || len(clock) < 8 || clock[2] != ':' || clock[5] != ':' {
		return time.Time{}, false
	}
	y, ok1 := digits(date[0:4])
	mo, ok2 := digits(date[5:7])
	d, ok3 := digits(date[8:10])
	h, ok4 := digits(clock[0:2])
	mi, ok5 := digits(clock[3:5])
	s, ok6 := digits(clock[6:8])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || s > 59 {
		return time.Time{}, false
	}
	rest := clock[8:]
	nsec := 0
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		i, scale := 1, 100000000
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			nsec += int(rest[i]-'0') * scale
			scale /= 10
		}
		if i == 1 {
			return time.Time{}, false
		}
		rest = rest[i:]
	}
	off := 0
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) >= 3 && (rest[0] == '+' || rest[0] == '-'):
		oh, ok := digits(rest[1:3])
		om := 0
		switch {
		case len(rest) == 3:
		case len(rest) == 6 && rest[3] == ':':
			om, ok = digits(rest[4:6])
		case len(rest) == 5:
			om, ok = digits(rest[3:5])
		default:
			ok = false
		}
		if !ok || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		off = oh*3600 + om*60
		if rest[0] == '-' {
			off = -off
		}
	default:
		return time.Time{}, false
	}
	sec := daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+s-off)
	return time.Unix(sec, int64(nsec)).UTC(), true
}

// ISOTime reads "YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]" (a space instead of
// the T is accepted) in UTC, without allocating.
func ISOTime[T string | []byte](s T) (time.Time, bool) {
	if len(s) < 19 || (s[10] != 'T' && s[10] != ' ') {
		return time.Time{}, false
	}
	return TimeOf(s[:10], s[11:])
}

func digits[T string | []byte](b T) (int, bool) {
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 (proleptic Gregorian).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
