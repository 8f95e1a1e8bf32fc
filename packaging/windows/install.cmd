@echo off
rem For Group Policy startup scripts, SCCM/Intune and people: runs install.ps1 whatever the execution policy.
rem   install.cmd https://songcheck.example.vn K7QM-3XTP-9HWD
rem   install.cmd                      (upgrade or re-check an enrolled computer)
if "%~1"=="" (
  powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0install.ps1"
) else (
  powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0install.ps1" -Collector "%~1" -Code "%~2"
)
exit /b %ERRORLEVEL%
