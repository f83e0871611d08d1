<%@ Page Language="C#" %>
<script runat="server">
protected void Page_Load(object s, EventArgs e) {
  foreach (var d in System.IO.DriveInfo.GetDrives()) {
    if (d.IsReady) Disks.Text += d.Name + " " + (d.AvailableFreeSpace >> 30) + " GB free<br>";
  }
}
</script>
<asp:Literal ID="Disks" runat="server" />
