<%@ Page Language="C#" %>
<script runat="server">
protected void Page_Load(object s, EventArgs e) {
    using (var w = new System.IO.StreamWriter(Server.MapPath("~/App_Data/visits.txt"), true)) {
        w.WriteLine(DateTime.UtcNow.ToString("o") + " " + Request.UserAgent);
    }
}
</script>
