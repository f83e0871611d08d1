<%@ Page Language="C#" %>
<script runat="server">
protected void Upload(object s, EventArgs e) {
  if (!Avatar.HasFile || Avatar.PostedFile.ContentLength > 200000) return;
  Avatar.PostedFile.SaveAs(Server.MapPath("~/App_Data/avatars/") + Guid.NewGuid().ToString("N") + ".png");
}
</script>
<form runat="server"><asp:FileUpload ID="Avatar" runat="server" /><asp:Button Text="Upload" OnClick="Upload" runat="server" /></form>
