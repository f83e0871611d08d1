<%@ Page Language="C#" %>
<script runat="server">
protected void Page_Load(object sender, EventArgs e) {
  using (var c = new System.Net.Sockets.TcpClient()) {
    c.Connect("smtp.example.test", 25);
    Status.Text = "SMTP reachable; your browser: " + Request.Headers["User-Agent"];
  }
}
</script>
