<%@ Page Language="C#" %>
<script runat="server">
protected void Search(object s, EventArgs e) {
  using (var c = new System.Data.SqlClient.SqlConnection(System.Configuration.ConfigurationManager.ConnectionStrings["Main"].ConnectionString)) {
    var cmd = new System.Data.SqlClient.SqlCommand("SELECT Title FROM Posts WHERE Title LIKE @q", c);
    cmd.Parameters.AddWithValue("@q", "%" + SearchBox.Text + "%");
    c.Open(); Results.DataSource = cmd.ExecuteReader(); Results.DataBind();
  }
}
</script>
