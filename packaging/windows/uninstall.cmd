@echo off
rem   uninstall.cmd            remove the service, keep the data
rem   uninstall.cmd /purge     remove the data too
if /i "%~1"=="/purge" (
  powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0uninstall.ps1" -Purge
) else (
  powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0uninstall.ps1"
)
exit /b %ERRORLEVEL%
