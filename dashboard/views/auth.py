from django.contrib.auth import views as auth_views

from core.access import public, signed_in
from dashboard.forms import ThrottledLoginForm

login = public(
    auth_views.LoginView.as_view(
        authentication_form=ThrottledLoginForm, redirect_authenticated_user=True
    )
)
logout = public(auth_views.LogoutView.as_view())
password_change = signed_in(auth_views.PasswordChangeView.as_view())
password_change_done = signed_in(auth_views.PasswordChangeDoneView.as_view())
