function clkLgn() { var u = document.getElementById("username"); if (u && u.value.length === 0) { u.focus(); return false; } return true; }
